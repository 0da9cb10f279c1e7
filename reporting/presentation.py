"""Presentation helpers the report notebooks share: dates, tables and client text.

Every value a client sent (a brand, a subreddit, an imported title) goes into a report through
`text()` or an escaped table cell, so it reads as the characters it is and never becomes
markup: `<img onerror=...>` prints as those characters.
"""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

import pandas as pd

# Markdown's backslash-escapable punctuation, less & < > (escaped as HTML entities instead).
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~=:\"'$%^,;?@/])")


def text(value: Any) -> str:
    """`value` as literal text inside Markdown: no emphasis, links, HTML or entities."""
    escaped = _MARKDOWN_PUNCTUATION.sub(r"\\\1", str(value))
    return html.escape(escaped, quote=False).replace("\n", " ")


def texts(values: Any, sep: str = ", ") -> str:
    """Several client values as literal text, joined by `sep`."""
    return sep.join(text(v) for v in values)


def cell(value: Any) -> str:
    """A client value as the text of an HTML table cell."""
    return html.escape(str(value))


def day(d: date | pd.Timestamp) -> str:
    """`10 Aug 2026`: how a report writes a day."""
    return f"{d.day} {d:%b %Y}"


def table(df: pd.DataFrame, formats: dict[str, Any]) -> Any:
    """A report table: no index, numbers formatted; text cells must be escaped already."""
    styler = df.style.hide(axis="index").format(formats, na_rep="")
    return styler.set_table_attributes('class="dataframe report-table"')


def reddit_link(permalink: Any, title: Any, limit: int = 90) -> str:
    """A post's title linking to it on Reddit (`permalink` as Reddit gives it: `/r/...`);
    the bare title when the permalink is not a path on reddit.com."""
    title = str(title)
    if len(title) > limit:
        title = title[: limit - 1].rstrip() + "…"
    path = str(permalink)
    if not path.startswith("/") or path.startswith("//"):
        return cell(title)
    return f'<a href="https://www.reddit.com{cell(path)}">{cell(title)}</a>'
