"""The notebook catalog: which notebooks can run and which parameters each one declares.

Parameters come from the notebook itself: the cell tagged `parameters` gives names, defaults,
`# help` comments and types (reporting/parameter_inference.py); the notebook's metadata
`reportbook.parameters.<name>` may set `type`, `enum` (allowed values) and `help`.

A notebook that cannot be read (an empty or truncated file, an unknown declared type,
`metadata.reportbook` that is not an object, a file name that is not a notebook name, a kernel
that is not installed) never breaks the catalog: it is an `UnavailableNotebook` with the
reason, listed for admins only, and a request that names it is a 422 saying what is wrong.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import nbformat
import papermill
from jupyter_client.kernelspec import KernelSpecManager
from nbformat.reader import NotJSONError
from pydantic import (
    ConfigDict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    create_model,
)

from reporting.date_bounds import BoundedDate
from reporting.errors import InvalidInput, NotFound
from reporting.parameter_inference import ANY, Declared, declared_parameters
from reporting.product_context import RESERVED_PARAMETER

log = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
NAME_RULE = "letters, digits, '_' and '-', starting with a letter or digit, at most 100"

# Declared type name -> the pydantic type a request value must satisfy.
TYPES: dict[str, Any] = {
    "str": StrictStr,
    "int": StrictInt,
    "float": StrictFloat,  # an int is accepted; true and "3.5" are not
    "bool": StrictBool,
    "date": BoundedDate,  # an ISO string, years 2000..2100 (reporting/date_bounds.py)
    "list[str]": list[StrictStr],
    "list[int]": list[StrictInt],
    "list[float]": list[StrictFloat],
    "list[bool]": list[StrictBool],
    "list": list[Any],
    "dict": dict[str, Any],
    ANY: Any,  # any JSON value: what the parameters cell does not let us infer
}


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: Any = None
    required: bool = False
    help: str = ""
    enum: list[Any] | None = None
    nullable: bool = False  # null is a valid value (a None default, `x: int | None`)

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "required": self.required,
            "nullable": self.nullable,
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
    # Declares the reserved `product` parameter: the worker injects the task's product
    # (reporting/product_context.py); clients never set it.
    binds_product: bool = False
    kernel: str | None = None  # the notebook's kernelspec name; None: KERNEL_NAME

    def validate(self, values: Any, loc: tuple[str, ...] = ("body", "parameters")) -> dict:
        """Check request values against the declared parameters; return papermill-ready values.

        Unknown, missing (without default) and mistyped parameters raise InvalidInput naming
        the field. Dates are returned as ISO strings, as notebooks declare them.
        """
        if not isinstance(values, dict):
            raise InvalidInput(
                [{"loc": list(loc), "msg": "must be an object", "type": "dict_type"}]
            )
        if RESERVED_PARAMETER in values:
            raise InvalidInput([{"loc": [*loc, RESERVED_PARAMETER], "type": "reserved",
                                 "msg": "reserved: a run reads the data of the task's "
                                        "product_id, set by the worker"}])  # fmt: skip
        fields: dict[str, Any] = {}
        for p in self.parameters:
            annotation = Literal[tuple(p.enum)] if p.enum else TYPES[p.type]
            if p.nullable and p.type != ANY:
                annotation = annotation | None
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
            "kernel": self.kernel,
            "available": True,
            "reason": None,
        }


@dataclass(frozen=True)
class UnavailableNotebook:
    """A notebook file that cannot run, and why (shown to admins, and in every 422)."""

    name: str
    path: Path
    reason: str

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.name, "description": "", "parameters": [],
                "timeout_seconds": None, "kernel": None, "available": False,
                "reason": self.reason}  # fmt: skip


class NotebookUnreadable(ValueError):
    """Why a notebook file cannot be in the catalog."""


def _object(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise NotebookUnreadable(f"{what} must be an object, not {type(value).__name__}")
    return value


def _parameter(found: Declared, declared: Any) -> Parameter:
    declared = _object(declared, f"metadata.reportbook.parameters.{found.name}")
    type_name = declared.get("type", found.type)
    if type_name not in TYPES:
        raise NotebookUnreadable(
            f"parameter {found.name!r} declares unknown type {type_name!r} "
            f"(known: {', '.join(TYPES)})"
        )
    enum = declared.get("enum")
    if enum is not None and not (isinstance(enum, list) and enum):
        raise NotebookUnreadable(f"parameter {found.name!r}: enum must be a non-empty list")
    help_text = declared.get("help") or found.help
    return Parameter(
        name=found.name,
        type=type_name,
        default=found.default,
        required=found.required,
        help=help_text if isinstance(help_text, str) else str(help_text),
        enum=enum,
        nullable=found.nullable and type_name == found.type or found.default is None,
    )


def load_spec(path: Path) -> NotebookSpec:
    """The notebook at `path`; NotebookUnreadable (or what reading it raised) when it
    cannot be in the catalog."""
    if not NAME_PATTERN.match(path.stem):
        raise NotebookUnreadable(f"{path.name!r} is not a notebook name ({NAME_RULE})")
    if path.stat().st_size == 0:
        raise NotebookUnreadable("the file is empty")
    nb = nbformat.read(path, as_version=4)
    meta = _object(nb.metadata.get("reportbook"), "metadata.reportbook")
    declared = _object(meta.get("parameters"), "metadata.reportbook.parameters")
    kernelspec = _object(nb.metadata.get("kernelspec"), "metadata.kernelspec")
    timeout = meta.get("timeout_seconds")
    if timeout is not None and (type(timeout) is not int or timeout <= 0):
        raise NotebookUnreadable("metadata.reportbook.timeout_seconds must be a positive int")
    found = declared_parameters(nb)
    return NotebookSpec(
        name=path.stem,
        path=path,
        title=str(meta.get("title") or path.stem.replace("_", " ").capitalize()),
        description=str(meta.get("description") or ""),
        parameters=[
            _parameter(p, declared.get(p.name)) for p in found if p.name != RESERVED_PARAMETER
        ],
        timeout_seconds=timeout,
        binds_product=any(p.name == RESERVED_PARAMETER for p in found),
        kernel=kernelspec.get("name") or None,
    )


def installed_kernels() -> set[str]:
    """The Jupyter kernels this machine can start (read anew: JUPYTER_PATH may change)."""
    return set(KernelSpecManager().find_kernel_specs())


CatalogEntry = NotebookSpec | UnavailableNotebook


class NotebookCatalog:
    """The notebooks in one directory, re-read when a file changes. A name is the file name
    without `.ipynb`; one rule (NAME_PATTERN) decides which names can run, for listing and
    running alike: a file named otherwise is listed (for admins) as unavailable."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: dict[Path, tuple[float, int, CatalogEntry]] = {}

    def _load(self, path: Path, kernels: set[str]) -> CatalogEntry:
        stat = path.stat()
        cached = self._cache.get(path)
        if cached is None or cached[:2] != (stat.st_mtime, stat.st_size):
            try:
                entry: CatalogEntry = load_spec(path)
            except (NotebookUnreadable, ValueError, TypeError, KeyError, AttributeError,
                    OSError, papermill.PapermillException) as exc:  # fmt: skip
                log.warning("notebook %s is unavailable: %s", path.name, _reason(exc))
                entry = UnavailableNotebook(path.stem, path, _reason(exc))
            cached = (stat.st_mtime, stat.st_size, entry)
            self._cache[path] = cached
        entry = cached[2]
        if isinstance(entry, NotebookSpec) and entry.kernel and entry.kernel not in kernels:
            return UnavailableNotebook(
                entry.name, path, f"its kernel {entry.kernel!r} is not installed"
            )
        return entry

    def list(self) -> list[CatalogEntry]:
        """Every notebook file, runnable or not (UnavailableNotebook, with the reason)."""
        kernels = installed_kernels()
        return [self._load(p, kernels) for p in sorted(self.directory.glob("*.ipynb"))]

    def _entry(self, name: str) -> CatalogEntry | None:
        path = self.directory / f"{name}.ipynb"
        if not name or name.startswith(".") or path.parent != self.directory:
            return None
        if not path.is_file():
            return None
        return self._load(path, installed_kernels())

    def get(self, name: str, loc: tuple[str, ...] = ("body", "notebook")) -> NotebookSpec:
        """The runnable notebook called `name`; InvalidInput (naming `loc`) when there is
        none or it cannot run (the message says why)."""
        entry = self._entry(name)
        if entry is None:
            raise InvalidInput([{"loc": list(loc), "msg": f"unknown notebook {name!r}",
                                 "type": "unknown_notebook"}])  # fmt: skip
        if isinstance(entry, UnavailableNotebook):
            raise InvalidInput([{"loc": list(loc), "type": "notebook_unavailable",
                                 "msg": f"notebook {name!r} cannot run: {entry.reason}"}])  # fmt: skip
        return entry

    def find(self, name: str) -> NotebookSpec:
        """Like get, for path lookups: NotFound when there is no such notebook, InvalidInput
        (loc path.name) when it cannot run."""
        if self._entry(name) is None:
            raise NotFound(f"notebook {name!r} not found")
        return self.get(name, loc=("path", "name"))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, NotebookUnreadable):
        return str(exc)
    if isinstance(exc, NotJSONError):
        return "the file is not notebook JSON (truncated, or not a notebook)"
    text = " ".join(str(exc).split())[:300]
    return f"cannot be read ({type(exc).__name__}: {text})" if text else type(exc).__name__
