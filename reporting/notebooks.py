"""The notebook catalog: which notebooks can run and which parameters each one declares.

Parameters come from the notebook itself: papermill's `inspect_notebook` reads the cell tagged
`parameters` (names, defaults, `# help` comments, annotations); the notebook's metadata
`reportbook.parameters.<name>` may add `type`, `enum` (allowed values) and `help`.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import nbformat
import papermill
from pydantic import ConfigDict, StrictBool, StrictInt, StrictStr, ValidationError, create_model

from reporting.date_bounds import BoundedDate
from reporting.errors import InvalidInput, NotFound

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")

# Declared type name -> the pydantic type a request value must satisfy.
TYPES: dict[str, Any] = {
    "str": StrictStr,
    "int": StrictInt,
    "float": float,
    "bool": StrictBool,
    "date": BoundedDate,  # an ISO string, years 2000..2100 (reporting/date_bounds.py)
    "list[str]": list[StrictStr],
    "list[int]": list[StrictInt],
    "list[float]": list[float],
    "dict": dict[str, Any],
}
_INFERRED = {str: "str", int: "int", float: "float", bool: "bool", list: "list[str]", dict: "dict"}
_NO_DEFAULT = object()


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: Any = None
    required: bool = False
    help: str = ""
    enum: list[Any] | None = None

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "required": self.required,
            "description": self.help,
            "enum": self.enum,
        }


@dataclass(frozen=True)
class NotebookSpec:
    name: str
    path: Path
    title: str
    description: str
    parameters: list[Parameter] = field(default_factory=list)
    timeout_seconds: int | None = None  # overrides TASK_TIMEOUT_SECONDS for this notebook

    def validate(self, values: Any, loc: tuple[str, ...] = ("body", "parameters")) -> dict:
        """Check request values against the declared parameters; return papermill-ready values.

        Unknown, missing (without default) and mistyped parameters raise InvalidInput naming
        the field. Dates are returned as ISO strings, as notebooks declare them.
        """
        if not isinstance(values, dict):
            raise InvalidInput(
                [{"loc": list(loc), "msg": "must be an object", "type": "dict_type"}]
            )
        fields: dict[str, Any] = {}
        for p in self.parameters:
            annotation = Literal[tuple(p.enum)] if p.enum else TYPES[p.type]
            fields[p.name] = (annotation, ... if p.required else None)
        model = create_model(
            f"{self.name}_parameters", __config__=ConfigDict(extra="forbid"), **fields
        )
        try:
            parsed = model.model_validate(values)
        except ValidationError as exc:
            raise InvalidInput(
                [
                    {"loc": [*loc, *e["loc"]], "msg": e["msg"], "type": e["type"]}
                    for e in exc.errors(include_url=False, include_input=False)
                ]
            ) from None
        clean = {}
        for name in values:
            value = getattr(parsed, name)
            clean[name] = value.isoformat() if isinstance(value, dt.date) else value
        return clean

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "parameters": [p.public() for p in self.parameters],
            "timeout_seconds": self.timeout_seconds,
        }


def _literal(source: str) -> Any:
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError):
        return _NO_DEFAULT


def _parameter(inspected: dict[str, Any], declared: dict[str, Any]) -> Parameter:
    name = inspected["name"]
    source = inspected.get("default")
    default = _literal(source) if source else _NO_DEFAULT
    type_name = declared.get("type")
    if type_name is None and inspected.get("inferred_type_name") in TYPES:
        type_name = inspected["inferred_type_name"]
    if type_name is None:
        type_name = _INFERRED.get(type(default), "str")
    if type_name not in TYPES:
        raise ValueError(f"parameter {name!r} declares unknown type {type_name!r}")
    return Parameter(
        name=name,
        type=type_name,
        # A default papermill cannot evaluate (an expression) is shown as its source.
        default=source if default is _NO_DEFAULT else default,
        required=not source,
        help=declared.get("help") or inspected.get("help") or "",
        enum=declared.get("enum"),
    )


def load_spec(path: Path) -> NotebookSpec:
    nb = nbformat.read(path, as_version=4)
    meta = nb.metadata.get("reportbook", {})
    declared = meta.get("parameters", {})
    inspected = papermill.inspect_notebook(str(path))
    return NotebookSpec(
        name=path.stem,
        path=path,
        title=meta.get("title", path.stem.replace("_", " ").capitalize()),
        description=meta.get("description", ""),
        parameters=[_parameter(p, declared.get(p["name"], {})) for p in inspected.values()],
        timeout_seconds=meta.get("timeout_seconds"),
    )


class NotebookCatalog:
    """The runnable notebooks in one directory, re-read when a file changes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: dict[Path, tuple[float, NotebookSpec]] = {}

    def _load(self, path: Path) -> NotebookSpec:
        mtime = path.stat().st_mtime
        cached = self._cache.get(path)
        if cached is None or cached[0] != mtime:
            cached = (mtime, load_spec(path))
            self._cache[path] = cached
        return cached[1]

    def list(self) -> list[NotebookSpec]:
        return [self._load(p) for p in sorted(self.directory.glob("*.ipynb"))]

    def get(self, name: str, loc: tuple[str, ...] = ("body", "notebook")) -> NotebookSpec:
        """The notebook called `name`; InvalidInput (naming `loc`) when there is none."""
        path = self.directory / f"{name}.ipynb" if NAME_PATTERN.match(name) else None
        if path is None or not path.is_file():
            raise InvalidInput(
                [
                    {
                        "loc": list(loc),
                        "msg": f"unknown notebook {name!r}",
                        "type": "unknown_notebook",
                    }
                ]
            )
        return self._load(path)

    def find(self, name: str) -> NotebookSpec:
        """Like get, for path lookups: NotFound instead of InvalidInput."""
        try:
            return self.get(name)
        except InvalidInput:
            raise NotFound(f"notebook {name!r} not found") from None
