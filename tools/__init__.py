"""Developer tools (not installed with the package): `python -m tools.postman`."""
