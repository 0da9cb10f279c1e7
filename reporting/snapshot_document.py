"""A weekly snapshot's PDF: the brand chunks' executed notebooks under one title page and
contents, opened by the week at a glance and what changed since the previous snapshot."""

from __future__ import annotations

from typing import Any

import nbformat

from reporting.export import ReportMeta, export_combined, period_label
from reporting.snapshot_metrics import changes, changes_markdown


def snapshot_pdf(
    chunks: list[nbformat.NotebookNode],
    snapshot: dict[str, Any],
    metrics: dict[str, Any],
    previous: dict[str, Any] | None,
) -> tuple[bytes, dict[str, Any] | None]:
    """(the PDF, the changes against `previous`, None without one). `snapshot` needs
    `product_name`, `start` and `end`; `previous` (an earlier snapshot) its `start`, `end` and
    `metrics`."""
    delta = changes(metrics, previous["metrics"]) if previous else None
    meta = ReportMeta(
        title=f"Weekly snapshot: {snapshot['product_name']}",
        product=snapshot["product_name"],
        period=period_label(snapshot["start"], snapshot["end"]),
    )
    intro = changes_markdown(snapshot, metrics, previous, delta)
    # One contents entry per brand: every brand has the same subsections.
    _, pdf = export_combined(chunks, meta, intro, subsections_in_contents=False)
    return pdf, delta
