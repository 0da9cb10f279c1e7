"""Logging set-up shared by the API, the workers and the scheduler."""

from __future__ import annotations

import logging

# Libraries that log every step of every report at INFO.
QUIET = ("weasyprint", "fontTools", "traitlets", "papermill")


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s",
    )
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
