"""Reportbook's background side: the RQ job that runs a task, the periodic tick, the worker."""
