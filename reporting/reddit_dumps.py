"""Reddit dump files read as rows: JSON lines, JSON (arrays, listings) and CSV, streamed.

- JSON lines (`.jsonl`, `.ndjson`): one object per line; a line may also hold a whole Reddit
  listing (`{"kind": "Listing", "data": {"children": [...]}}`), as saved from the API;
- JSON (`.json`): an array of objects (read element by element) or one listing (or an array
  of listings, like a comments page), nested `replies` included;
- CSV (`.csv`): a header row naming the fields; quoted fields may span lines.

Rows are numbered by line (JSON lines, CSV: the line the row starts on) or by position (JSON
array and listings: 1 = the first post or comment). A row that cannot be decoded (malformed
JSON, not UTF-8, a CSV row with the wrong number of fields) comes with its `error`, so the
importer can record it; input nothing can be read from raises UnreadableDump.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePath
from typing import IO, Any

from reporting.errors import ReportbookError

MAX_RECORD_BYTES = 8 * 2**20  # longest line, CSV field or JSON array element
MAX_DOCUMENT_BYTES = 64 * 2**20  # largest JSON document read whole (a listing)
CHUNK = 64 * 1024


class DumpFormat(StrEnum):
    ndjson = "ndjson"
    json = "json"
    csv = "csv"


EXTENSIONS = {".jsonl": DumpFormat.ndjson, ".ndjson": DumpFormat.ndjson,
              ".json": DumpFormat.json, ".csv": DumpFormat.csv}  # fmt: skip
CONTENT_TYPES = {"application/x-ndjson": DumpFormat.ndjson, "application/jsonl": DumpFormat.ndjson,
                 "application/json": DumpFormat.json, "text/csv": DumpFormat.csv}  # fmt: skip


def detect_format(filename: str | None, content_type: str | None = None) -> DumpFormat | None:
    """The format a file's extension names, else its content type's; None if neither does."""
    if filename and PurePath(filename).suffix.lower() in EXTENSIONS:
        return EXTENSIONS[PurePath(filename).suffix.lower()]
    media = (content_type or "").split(";")[0].strip().lower()
    return CONTENT_TYPES.get(media)


class UnreadableDump(ReportbookError):
    """Nothing in the input could be read as records (empty, binary, not JSON or CSV...)."""

    status_code = 422


@dataclass
class Row:
    """One record as read: `data` when it decoded (`kind` t3/t1 when a listing said so),
    else `error` and the raw `text`."""

    number: int
    data: dict[str, Any] | None = None
    kind: str | None = None
    error: str | None = None
    text: str = ""


def read_dump(stream: IO[bytes], format: DumpFormat) -> Iterator[Row]:
    """The rows of a dump (a seekable binary file). Raises UnreadableDump, once the rows
    that could be read are consumed, if no record could be decoded at all."""
    head = stream.read(CHUNK)
    stream.seek(0)
    if head.startswith(b"\x1f\x8b"):
        raise UnreadableDump("the file is gzip-compressed: decompress it first")
    if b"\x00" in head:
        raise UnreadableDump("the file is binary, not JSON or CSV text")
    rows = _csv_rows(stream) if format is DumpFormat.csv else _json_rows(stream, head)
    decoded, first_error = 0, None
    for row in rows:
        if row.data is not None:
            decoded += 1
        elif first_error is None:
            first_error = row
        yield row
    if not decoded:
        if first_error is None:
            raise UnreadableDump("the file holds no records")
        raise UnreadableDump(f"no record could be read; row {first_error.number}: "
                             f"{first_error.error}")  # fmt: skip


def _json_rows(stream: IO[bytes], head: bytes) -> Iterator[Row]:
    text = head.removeprefix(codecs.BOM_UTF8).decode("utf-8", "replace").lstrip()
    if text.startswith("["):
        yield from _array_rows(stream)
        return
    if text.startswith("{"):
        first_line = stream.readline(MAX_RECORD_BYTES)
        stream.seek(0)
        if _parses(first_line.removeprefix(codecs.BOM_UTF8)) is None:
            document = _whole_document(stream)
            if document is not None:
                yield from _numbered(_things(document))
                return
    yield from _line_rows(stream)


def _parses(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8")) if data.strip() else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def _whole_document(stream: IO[bytes]) -> Any:
    """The file as one JSON value, or None (too large, or not one value: read it by line)."""
    data = stream.read(MAX_DOCUMENT_BYTES + 1)
    stream.seek(0)
    if len(data) > MAX_DOCUMENT_BYTES:
        return None
    return _parses(data.removeprefix(codecs.BOM_UTF8))


def _numbered(things: Iterable[Row]) -> Iterator[Row]:
    for number, row in enumerate(things, start=1):
        row.number = number
        yield row


def _things(value: Any) -> Iterator[Row]:
    """Rows from a decoded value: an object, a listing (with nested replies), or an array."""
    if isinstance(value, list):
        for item in value:
            yield from _things(item)
    elif isinstance(value, dict) and isinstance(value.get("data"), dict) and "kind" in value:
        data = value["data"]
        if value["kind"] == "Listing":
            for child in data.get("children") or []:
                yield from _things(child)
            return
        yield Row(0, data, kind=str(value["kind"]))
        if isinstance(data.get("replies"), dict):
            yield from _things(data["replies"])
    elif isinstance(value, dict):
        yield Row(0, value)
    else:
        yield Row(0, error=f"not an object but {type(value).__name__}", text=json.dumps(value))


def _line_rows(stream: IO[bytes]) -> Iterator[Row]:
    for number, line in enumerate(iter(lambda: stream.readline(MAX_RECORD_BYTES + 1), b""), 1):
        if len(line) > MAX_RECORD_BYTES and not line.endswith(b"\n"):
            while (rest := stream.readline(CHUNK)) and not rest.endswith(b"\n"):
                pass  # skip the rest of the line
            yield Row(number, error=f"line longer than {MAX_RECORD_BYTES} bytes",
                      text=line[:200].decode("utf-8", "replace"))  # fmt: skip
            continue
        if number == 1:
            line = line.removeprefix(codecs.BOM_UTF8)
        try:
            text = line.decode("utf-8").strip()
        except UnicodeDecodeError as exc:
            yield Row(number, error=f"not UTF-8 text (byte {exc.start + 1})",
                      text=line.decode("utf-8", "replace"))  # fmt: skip
            continue
        if not text:
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            yield Row(number, error=f"malformed JSON: {exc.msg} (column {exc.colno})", text=text)
            continue
        for row in _things(value):
            row.number = number
            yield row


def _array_rows(stream: IO[bytes]) -> Iterator[Row]:
    """The elements of a top-level JSON array, decoded one at a time."""
    reader = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    decoder = json.JSONDecoder()
    buffer, pos, eof, count = "", 0, False, 0

    def more(size: int) -> bool:
        nonlocal buffer, pos, eof
        chunk = reader.read(size)
        buffer, pos, eof = buffer[pos:] + chunk, 0, not chunk
        return bool(chunk)

    def skip(chars: str) -> None:
        nonlocal pos
        while True:
            while pos < len(buffer) and buffer[pos] in chars:
                pos += 1
            if pos < len(buffer) or not more(CHUNK):
                return

    try:
        skip(" \t\r\n")
        pos += 1  # the "["
        while True:
            skip(" \t\r\n,")
            if pos >= len(buffer) or buffer[pos] == "]":
                return
            size = CHUNK
            while True:
                try:
                    value, end = decoder.raw_decode(buffer, pos)
                    if end < len(buffer) or eof:
                        break
                except json.JSONDecodeError as exc:
                    if eof or len(buffer) - pos > MAX_RECORD_BYTES:
                        count += 1
                        yield Row(count, error=f"malformed JSON array element: {exc.msg}; the "
                                  "rest of the array could not be read",
                                  text=buffer[pos:pos + 200])  # fmt: skip
                        return
                more(size)
                size = min(size * 2, MAX_RECORD_BYTES)
            pos = end
            for row in _things(value):
                count += 1
                row.number = count
                yield row
    except UnicodeDecodeError as exc:
        yield Row(count + 1, error=f"not UTF-8 text ({exc.reason}); the rest of the array could "
                  "not be read")  # fmt: skip
    finally:
        reader.detach()


def _decoded_lines(stream: IO[bytes], bad: set[int]) -> Iterator[str]:
    for number, line in enumerate(iter(lambda: stream.readline(MAX_RECORD_BYTES + 1), b""), 1):
        try:
            yield (line.removeprefix(codecs.BOM_UTF8) if number == 1 else line).decode("utf-8")
        except UnicodeDecodeError:
            bad.add(number)
            yield line.decode("utf-8", "replace")


def _csv_rows(stream: IO[bytes]) -> Iterator[Row]:
    csv.field_size_limit(max(csv.field_size_limit(), MAX_RECORD_BYTES))
    bad_lines: set[int] = set()
    reader = csv.reader(_decoded_lines(stream, bad_lines))
    header = [h.strip().lower() for h in next(reader, [])]
    if "id" not in header and "name" not in header:
        raise UnreadableDump(f"the CSV header names no id column (found {header[:10]})")
    last_line = reader.line_num
    while True:
        start = last_line + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            last_line = reader.line_num
            yield Row(start, error=f"malformed CSV: {exc}")
            continue
        last_line = reader.line_num
        text = ",".join(values)
        if not any(v.strip() for v in values):
            continue
        if bad_lines.intersection(range(start, last_line + 1)):
            yield Row(start, error="not UTF-8 text", text=text)
        elif len(values) != len(header):
            yield Row(start, error=f"{len(values)} fields where the header has {len(header)}",
                      text=text)  # fmt: skip
        else:
            yield Row(start, {k: v or None for k, v in zip(header, values, strict=True)})
