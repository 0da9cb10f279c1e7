"""What a notebook's cell tagged `parameters` declares: names, defaults, types and help.

Python notebooks: the cell is parsed (``ast``), so what it says is read exactly:
- an annotation wins: ``x: int = 1`` is an ``int``, ``y: int | None = None`` (or
  ``Optional[int]``) a nullable ``int``, ``ids: list[int] = []`` a ``list[int]``;
- else the literal default gives the type: ``ids = [1, 2]`` is ``list[int]``, ``xs = [1, 2.5]``
  ``list[float]``, ``pair = (1, 2)`` ``list[int]`` (a tuple arrives as a JSON list), ``[]`` or
  mixed elements ``list``, ``{...}`` ``dict``;
- a ``None`` default makes the parameter nullable (of type ``any`` without an annotation);
- what cannot be inferred (an expression such as ``60 * 60``, a call, an unknown annotation) is
  ``any``: any JSON value; its default is not evaluated here (shown as ``null``) and the
  notebook's own expression applies when a task does not send the parameter.
A ``# comment`` at the end of the assignment is its help. Other languages (and a Python cell
that does not parse, e.g. with a magic) use papermill's ``inspect_notebook``.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from typing import Any

import nbformat
import papermill

ANY = "any"
_SCALARS = {bool: "bool", int: "int", float: "float", str: "str"}
_ANNOTATED = {"int": "int", "float": "float", "str": "str", "bool": "bool", "date": "date",
              "dict": "dict", "Dict": "dict", "Mapping": "dict", "Any": ANY}  # fmt: skip
_SEQUENCES = {"list", "List", "tuple", "Tuple", "Sequence"}
_NO_DEFAULT = object()


@dataclass(frozen=True)
class Declared:
    name: str
    type: str
    nullable: bool
    default: Any  # the literal default; None when it has none or it is an expression
    required: bool  # no default at all
    help: str


def _value_type(value: Any) -> str:
    if type(value) in _SCALARS:
        return _SCALARS[type(value)]
    if isinstance(value, list | tuple):
        kinds = {_SCALARS.get(type(item)) for item in value}
        if kinds == {"int", "float"}:
            return "list[float]"
        if len(kinds) == 1 and None not in kinds:
            return f"list[{kinds.pop()}]"
        return "list"
    if isinstance(value, dict):
        return "dict"
    return ANY


def _name_of(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):  # typing.Optional, dt.date
        return node.attr
    return None


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _union_parts(node: ast.expr) -> list[ast.expr] | None:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return [
            *(_union_parts(node.left) or [node.left]),
            *(_union_parts(node.right) or [node.right]),
        ]
    if isinstance(node, ast.Subscript) and _name_of(node.value) == "Union":
        inner = node.slice
        return list(inner.elts) if isinstance(inner, ast.Tuple) else [inner]
    return None


def annotation_type(node: ast.expr) -> tuple[str, bool]:
    """(type name, nullable) an annotation means; ``any`` for what is not a known type."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # x: "int" = 1
        try:
            return annotation_type(ast.parse(node.value, mode="eval").body)
        except SyntaxError:
            return ANY, False
    if isinstance(node, ast.Subscript) and _name_of(node.value) == "Optional":
        return annotation_type(node.slice)[0], True
    parts = _union_parts(node)
    if parts is not None:
        kept = [p for p in parts if not _is_none(p)]
        nullable = len(kept) < len(parts)
        return (annotation_type(kept[0])[0] if len(kept) == 1 else ANY), nullable
    name = _name_of(node)
    if name in _SEQUENCES:
        return "list", False
    if name is not None:
        return _ANNOTATED.get(name, ANY), False
    if isinstance(node, ast.Subscript) and _name_of(node.value) in _SEQUENCES:
        elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        elements = [e for e in elements if not (isinstance(e, ast.Constant) and e.value is ...)]
        kinds = {annotation_type(e) for e in elements}
        if len(kinds) == 1 and (kind := kinds.pop())[0] in ("int", "float", "str", "bool"):
            return (f"list[{kind[0]}]" if not kind[1] else "list"), False
        return "list", False
    if isinstance(node, ast.Subscript) and _name_of(node.value) in ("dict", "Dict", "Mapping"):
        return "dict", False
    return ANY, False


def _comment(lines: list[str], node: ast.stmt) -> str:
    """The `# help` comment after a statement on its last line."""
    line = lines[(node.end_lineno or node.lineno) - 1]
    rest = line[node.end_col_offset or 0 :]
    return rest.split("#", 1)[1].strip() if "#" in rest else ""


def _literal(source: str | None) -> Any:
    if source is None:
        return _NO_DEFAULT
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _NO_DEFAULT


def _json_value(value: Any) -> Any:
    """A literal as the JSON the API shows (a tuple as a list); _NO_DEFAULT for what JSON
    cannot hold (a set, bytes, a complex number)."""
    if isinstance(value, tuple):
        value = list(value)
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return _NO_DEFAULT
    return value


def _declared(name: str, annotation: tuple[str, bool] | None, source: str | None, help: str):
    default = _literal(source)
    if default is not _NO_DEFAULT:
        default = _json_value(default)
    if annotation is not None:
        type_name, nullable = annotation
    elif default is _NO_DEFAULT:
        type_name, nullable = ANY, True  # an expression (or no default): any JSON value
    else:
        type_name, nullable = _value_type(default), False
    if default is None:
        nullable = True
    return Declared(
        name=name,
        type=type_name,
        nullable=nullable,
        default=None if default is _NO_DEFAULT else default,
        required=source is None,
        help=help,
    )


def _python_parameters(source: str) -> list[Declared]:
    """Raises SyntaxError for a cell that is not plain Python."""
    tree = ast.parse(source)
    lines = source.splitlines()
    found: dict[str, Declared] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            value = ast.get_source_segment(source, node.value)
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = _declared(target.id, None, value, _comment(lines, node))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            value = ast.get_source_segment(source, node.value) if node.value else None
            found[node.target.id] = _declared(
                node.target.id, annotation_type(node.annotation), value, _comment(lines, node)
            )
    return list(found.values())


def _is_python(nb: nbformat.NotebookNode) -> bool:
    language = (nb.metadata.get("kernelspec") or {}).get("language") or (
        nb.metadata.get("language_info") or {}
    ).get("name", "python")
    return str(language).lower() == "python"


def declared_parameters(nb: nbformat.NotebookNode) -> list[Declared]:
    """The parameters of `nb`'s cell tagged `parameters` (none without one)."""
    cell = next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)
    if cell is None:
        return []
    if _is_python(nb):
        try:
            return _python_parameters(cell.source)
        except SyntaxError:
            pass
    inspected = papermill.inspect_notebook(nbformat.from_dict(nb))
    return [
        _declared(p["name"], None, p.get("default") or None, p.get("help") or "")
        for p in inspected.values()
    ]
