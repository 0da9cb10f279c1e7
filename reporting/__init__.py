"""Reportbook's shared library: settings, the store, notebooks, execution and export."""
