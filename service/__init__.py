"""Reportbook's REST API (FastAPI)."""
