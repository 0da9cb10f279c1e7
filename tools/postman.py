"""Generate the Postman collection (v2.1) from the API's OpenAPI schema.

    python -m tools.postman           # (re)writes docs/postman/reportbook.postman_collection.json
    python -m tools.postman --check   # exit 1 when the checked-in collection is out of date
    make postman                      # the same as the first

The schema comes from `service.main.create_app(settings).openapi()`: building the app opens
nothing (the store and Redis are opened by its lifespan, which never runs here), so this needs
no server, store or Redis.

The collection has one request per operation, in one folder per tag (an operation's first
tag), creates first in each folder so a run in order has ids to work with. Requests use
`{{baseUrl}}` and the collection's bearer auth `{{apiKey}}`; master-key endpoints send
`X-Master-Key: {{masterKey}}` instead, open endpoints no credential. Bodies are a minimal
valid example of the request schema (required fields only); path parameters and the body
fields that must name existing data are variables (`{{folderId}}`, `{{productId}}`,
`{{taskId}}`, `{{notebook}}`...), and each create request stores the id it got into the
collection variable its item path uses, so later requests reuse it.

Each request's test script checks that the status is documented, that it is a documented
success (2xx), and that a JSON body matches the documented schema of its status
(`pm.response.to.have.jsonSchema`, Ajv in Postman's and newman's sandbox, draft-07: the
OpenAPI component schemas are inlined as `definitions`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COLLECTION_PATH = ROOT / "docs/postman/reportbook.postman_collection.json"
SCHEMA_URL = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
DEFAULT_BASE_URL = "http://localhost:8000"
REF_PREFIX = "#/components/schemas/"

# Path parameters whose variable is not simply the camelCase of their name.
PATH_VARIABLES = {"name": "notebook", "number": "attempt"}
# Starting values of the path variables that need no data from the server (ids start empty:
# a create request or the environment sets them).
VARIABLE_DEFAULTS = {"attempt": "1"}  # attempts count from 1
# Body fields whose valid value depends on the server's data: taken from a variable.
BODY_VARIABLES = {
    "folder_id": "folderId",
    "product_id": "productId",
    "notebook": "notebook",
    "resource_id": "folderId",  # a grant's first `type` (its example) is `folder`
}
# Credential headers: their variable. Only the master key is sent (the API key goes in the
# collection's bearer auth; `X-API-Key` is listed, disabled, as the documented alternative).
HEADER_VARIABLES = {"x-master-key": "masterKey", "x-api-key": "apiKey"}

# The requests the live check in tests/test_postman.py runs with `newman --folder` (one flag
# each; newman runs them in collection order): every read that needs no finished run and no
# Firebase user, and the creates and updates with the example bodies. Left out: deletes and
# revocations (they would remove what later requests use), cancel/retry/pause/resume (their
# answer depends on how far the run has got), the report downloads (404 until the run ends)
# and the /v1/users/{uid} endpoints (a user exists only after a Firebase sign-in).
SMOKE_OPERATIONS = (
    "healthcheck_healthcheck_get",
    "readiness_readiness_get",
    "create_service_key_v1_admin_api_keys_post",
    "queue_stats_v1_admin_queues_get",
    "me_v1_me_get",
    "list_users_v1_users_get",
    "create_key_v1_api_keys_post",
    "list_keys_v1_api_keys_get",
    "create_folder_v1_folders_post",
    "list_folders_v1_folders_get",
    "get_folder_v1_folders__folder_id__get",
    "rename_folder_v1_folders__folder_id__patch",
    "create_product_v1_products_post",
    "list_products_v1_products_get",
    "get_product_v1_products__product_id__get",
    "update_product_v1_products__product_id__patch",
    "list_notebooks_v1_notebooks_get",
    "get_notebook_v1_notebooks__name__get",
    "create_task_v1_tasks_post",
    "list_tasks_v1_tasks_get",
    "get_task_v1_tasks__task_id__get",
    "list_queue_v1_queue_get",
    "list_audit_v1_audit_get",
)

# Formats the sandbox's Ajv (6, "fast" mode) knows; any other would stop it compiling.
AJV_FORMATS = {
    "date",
    "time",
    "date-time",
    "uri",
    "uri-reference",
    "uri-template",
    "url",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "regex",
    "uuid",
    "json-pointer",
    "relative-json-pointer",
}
# Annotations: no effect on validation, left out of the test scripts to keep them short.
ANNOTATIONS = {
    "title",
    "description",
    "examples",
    "example",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "discriminator",
    "xml",
    "externalDocs",
    "contentMediaType",
    "contentEncoding",
}
SCHEMA_MAPS = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
SCHEMA_LISTS = {"anyOf", "allOf", "oneOf"}
SCHEMA_VALUES = {
    "items",
    "additionalProperties",
    "additionalItems",
    "not",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
}
METHOD_ORDER = ("get", "put", "patch", "post", "delete")


# ---------------------------------------------------------------------------------------------
# The schema


def openapi_schema() -> dict[str, Any]:
    """The API's OpenAPI document, from the app object (nothing is started or opened)."""
    from reporting.settings import load_settings
    from service.main import create_app

    settings = load_settings(environment="development")
    return create_app(settings).openapi()


def _camel(name: str) -> str:
    head, *rest = re.split(r"[^A-Za-z0-9]+", name)
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def path_variable(param: str) -> str:
    return PATH_VARIABLES.get(param, _camel(param))


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].removeprefix(REF_PREFIX)]
    return schema


# ---------------------------------------------------------------------------------------------
# Example bodies


def example(schema: dict[str, Any], components: dict[str, Any], field: str | None = None) -> Any:
    """A minimal value valid against `schema`: required properties only, the first example,
    enum value or non-null alternative, the lowest allowed number, a placeholder string of an
    allowed length, or `{{variable}}` for the fields that must name existing data."""
    if field in BODY_VARIABLES:
        return "{{" + BODY_VARIABLES[field] + "}}"
    schema = _resolve(schema, components)
    for key in ("examples", "example", "const", "enum"):
        if key in schema:
            value = schema[key]
            return value[0] if key in {"examples", "enum"} else value
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if _resolve(s, components).get("type") != "null"]
            return example((options or schema[key])[0], components, field)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = example(part, components, field)
            if not isinstance(value, dict):
                return value
            merged.update(value)
        return merged
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {
            name: example(properties.get(name, {}), components, name)
            for name in schema.get("required", [])
        }
    if kind == "array":
        return [example(schema.get("items", {}), components)] * schema.get("minItems", 0)
    if kind in {"integer", "number"}:
        value = max(0, schema.get("minimum", 0))
        if "exclusiveMinimum" in schema:
            value = max(value, schema["exclusiveMinimum"] + 1)
        value = min(value, schema.get("maximum", value))
        return int(value) if kind == "integer" else value
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return _string_example(schema)


def _string_example(schema: dict[str, Any]) -> str:
    fmt = schema.get("format")
    if fmt == "date-time":
        return "2030-01-01T06:00:00Z"
    if fmt == "date":
        return "2030-01-01"
    value = "string"
    value = value.ljust(schema.get("minLength", 0), "x")
    return value[: schema.get("maxLength", len(value))]


# ---------------------------------------------------------------------------------------------
# Response schemas for the sandbox's Ajv (draft-07)


def draft7(schema: Any) -> Any:
    """`schema` (OpenAPI 3.1 / JSON Schema 2020-12 as FastAPI writes it) for Ajv 6: refs to
    `#/definitions/`, `prefixItems` as tuple `items`, no annotations, no unknown formats."""
    if isinstance(schema, bool) or not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ANNOTATIONS:
            continue
        if key == "$ref":
            out[key] = "#/definitions/" + value.removeprefix(REF_PREFIX)
        elif key == "format" and value not in AJV_FORMATS:
            continue
        elif key == "prefixItems":
            out["items"] = [draft7(s) for s in value]
            if "items" in schema:
                out["additionalItems"] = draft7(schema["items"])
        elif key == "items" and "prefixItems" in schema:
            continue
        elif key in SCHEMA_MAPS:
            out[key] = {name: draft7(s) for name, s in value.items()}
        elif key in SCHEMA_LISTS:
            out[key] = [draft7(s) for s in value]
        elif key in SCHEMA_VALUES:
            out[key] = draft7(value)
        else:
            out[key] = value
    return out


def _refs(schema: Any) -> Iterable[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(REF_PREFIX):
                yield value.removeprefix(REF_PREFIX)
            else:
                yield from _refs(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _refs(value)


def referenced(schemas: Iterable[Any], components: dict[str, Any]) -> list[str]:
    """Every component schema the given schemas use, directly or not, sorted by name."""
    seen: set[str] = set()
    todo = [name for schema in schemas for name in _refs(schema)]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_refs(components[name]))
    return sorted(seen)


# ---------------------------------------------------------------------------------------------
# Requests


def _json_schema(response: dict[str, Any]) -> dict[str, Any] | None:
    for media, content in response.get("content", {}).items():
        if media == "application/json" or media.endswith("+json"):
            return content.get("schema")
    return None


def _test_script(op: dict[str, Any], components: dict[str, Any], capture: str | None) -> list[str]:
    codes = sorted(int(code) for code in op["responses"] if code.isdigit())
    success = [code for code in codes if 200 <= code < 300]
    schemas = {
        str(code): schema
        for code in codes
        if (schema := _json_schema(op["responses"][str(code)])) is not None
    }
    names = referenced(schemas.values(), components)
    dumps = json.dumps  # one line per schema: a schema change is a one-line diff
    lines = [
        "// Generated by tools/postman.py from the OpenAPI schema (`make postman`).",
        f"const documented = {dumps(codes)};",
        f"const success = {dumps(success)};",
        f'pm.test("status is documented ({", ".join(map(str, codes))})", function () {{',
        "    pm.expect(pm.response.code).to.be.oneOf(documented);",
        "});",
        f'pm.test("status is a documented success ({", ".join(map(str, success))})", function () {{',
        "    pm.expect(pm.response.code).to.be.oneOf(success);",
        "});",
    ]
    if schemas:
        lines += [
            "const schemas = {",
            *_js_entries((code, draft7(schema)) for code, schema in schemas.items()),
            "};",
            "const definitions = {",
            *_js_entries((name, draft7(components[name])) for name in names),
            "};",
            "const schema = schemas[String(pm.response.code)];",
            "if (schema) {",
            '    pm.test("body matches the documented schema of " + pm.response.code, function () {',
            "        pm.response.to.have.jsonSchema(Object.assign({definitions: definitions}, schema));",
            "    });",
            "}",
        ]
    if capture:
        lines += [
            "// Later requests use the id this one created.",
            "if (success.includes(pm.response.code)) {",
            f'    pm.collectionVariables.set("{capture}", pm.response.json().id);',
            "}",
        ]
    return lines


def _js_entries(entries: Iterable[tuple[str, Any]]) -> list[str]:
    rendered = [f"    {json.dumps(key)}: {json.dumps(value)}" for key, value in entries]
    return [line + "," for line in rendered[:-1]] + rendered[-1:]


def _url(path: str, op: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    segments = [
        re.sub(r"\{([^}]+)\}", lambda m: "{{" + path_variable(m.group(1)) + "}}", segment)
        for segment in path.strip("/").split("/")
    ]
    query = []
    for param in op.get("parameters", []):
        if param["in"] != "query":
            continue
        schema = _resolve(param.get("schema", {}), components)
        value = schema.get("default", example(param.get("schema", {}), components))
        entry: dict[str, Any] = {"key": param["name"], "value": _text(value)}
        if param.get("description"):
            entry["description"] = param["description"]
        if not param.get("required"):
            entry["disabled"] = True
        query.append(entry)
    enabled = [f"{q['key']}={q['value']}" for q in query if not q.get("disabled")]
    url: dict[str, Any] = {
        "raw": "{{baseUrl}}/" + "/".join(segments) + ("?" + "&".join(enabled) if enabled else ""),
        "host": ["{{baseUrl}}"],
        "path": segments,
    }
    if query:
        url["query"] = query
    return url


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _request(
    path: str, method: str, op: dict[str, Any], components: dict[str, Any], capture: str | None
) -> dict[str, Any]:
    headers = []
    master_key = False
    for param in op.get("parameters", []):
        if param["in"] != "header":
            continue
        name = param["name"].lower()
        variable = HEADER_VARIABLES.get(name)
        value = "{{" + variable + "}}" if variable else _text(example(param["schema"], components))
        header: dict[str, Any] = {
            "key": "-".join(p.capitalize() for p in name.split("-")),
            "value": value,
        }
        if param.get("description"):
            header["description"] = param["description"]
        if name == "x-master-key":
            master_key = True
        elif not param.get("required"):
            header["disabled"] = True
        headers.append(header)
    request: dict[str, Any] = {"method": method.upper(), "header": headers}
    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        headers.insert(0, {"key": "Content-Type", "value": "application/json"})
        request["body"] = {
            "mode": "raw",
            "raw": json.dumps(example(body.get("schema", {}), components), indent=2),
            "options": {"raw": {"language": "json"}},
        }
    request["url"] = _url(path, op, components)
    if master_key or not op.get("security"):
        request["auth"] = {"type": "noauth"}
    description = op.get("description") or op.get("summary")
    if description:
        request["description"] = description
    return {
        "id": op["operationId"],
        "name": op.get("summary") or op["operationId"],
        "request": request,
        "event": [
            {
                "listen": "test",
                "script": {
                    "type": "text/javascript",
                    "exec": _test_script(op, components, capture),
                },
            }
        ],
        "response": [],
    }


def _order(path: str, method: str, paths: dict[str, Any]) -> int:
    """Creates first (POST to a collection that has item paths), then reads, updates, other
    actions, deletes; stable, so the schema's order stays within each group."""
    if method == "post" and _item_variable(path, paths):
        return 0
    return 1 + METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER) + 1


def _item_variable(path: str, paths: dict[str, Any]) -> str | None:
    """For a collection path (`/v1/tasks`), the variable of its item path's id (`taskId`)."""
    for other in paths:
        match = re.fullmatch(re.escape(path) + r"/\{([^}/]+)\}", other)
        if match:
            return path_variable(match.group(1))
    return None


# ---------------------------------------------------------------------------------------------
# The collection


def build_collection(openapi: dict[str, Any]) -> dict[str, Any]:
    """The Postman v2.1 collection for `openapi`, deterministic (same schema, same bytes)."""
    paths = openapi.get("paths", {})
    components = openapi.get("components", {}).get("schemas", {})
    folders: dict[str, list[tuple[int, dict[str, Any]]]] = {
        tag["name"]: [] for tag in openapi.get("tags", [])
    }
    variables: dict[str, str] = {
        "baseUrl": DEFAULT_BASE_URL,
        "apiKey": "",
        "masterKey": "",
    }
    for path, operations in paths.items():
        for method, op in operations.items():
            if method not in METHOD_ORDER + ("head", "options", "trace"):
                continue
            capture = _item_variable(path, paths) if method == "post" else None
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    variable = path_variable(param["name"])
                    variables.setdefault(variable, VARIABLE_DEFAULTS.get(variable, ""))
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            raw = json.dumps(example(body["schema"], components)) if body else ""
            for variable in re.findall(r"\{\{(\w+)\}\}", raw):
                variables.setdefault(variable, "")
            tag = (op.get("tags") or ["default"])[0]
            item = _request(path, method, op, components, capture)
            folders.setdefault(tag, []).append((_order(path, method, paths), item))
    info = openapi.get("info", {})
    title = info.get("title", "API")
    return {
        "info": {
            "_postman_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{title.lower()}.postman")),
            "name": title,
            "description": _collection_description(info),
            "schema": SCHEMA_URL,
        },
        "item": [
            {
                "name": tag,
                "item": [item for _, item in sorted(items, key=lambda pair: pair[0])],
            }
            for tag, items in folders.items()
            if items
        ],
        "auth": {
            "type": "bearer",
            "bearer": [{"key": "token", "value": "{{apiKey}}", "type": "string"}],
        },
        "variable": [
            {"key": key, "value": value, "type": "string"} for key, value in variables.items()
        ],
    }


def _collection_description(info: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"{info.get('title', 'API')} {info.get('version', '')}".rstrip()
            + ": generated from the OpenAPI schema by `tools/postman.py` (`make postman`);"
            " edit the API, not this file.",
            "",
            "Variables: `baseUrl` (default " + DEFAULT_BASE_URL + "), `apiKey` (an API key, sent"
            " as a bearer token), `masterKey` (for the master-key endpoints under /v1/admin),"
            " `notebook` (a notebook name from GET /v1/notebooks). Create requests store the id"
            " they got (`folderId`, `productId`, `taskId`, ...) for the requests after them.",
            "",
            "Every request tests that its status is documented and a documented success, and"
            " that a JSON body matches the documented schema. Run it with newman:"
            " `node_modules/.bin/newman run docs/postman/reportbook.postman_collection.json"
            " --env-var baseUrl=http://localhost:8000 --env-var apiKey=... --env-var"
            " masterKey=... --env-var notebook=reddit_report` (add `--folder <request id>`"
            " for a subset: tools/postman.py SMOKE_OPERATIONS is the one the tests run).",
        ]
    )


def render(collection: dict[str, Any]) -> str:
    """Pretty JSON: keys in the order built (deterministic), two-space indent, final newline."""
    return json.dumps(collection, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.postman", description=__doc__)
    parser.add_argument("--output", type=Path, default=COLLECTION_PATH)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when the file is not up to date"
    )
    args = parser.parse_args(argv)
    text = render(build_collection(openapi_schema()))
    current = args.output.read_text() if args.output.is_file() else None
    if args.check:
        if current != text:
            print(f"{args.output} is out of date: run `make postman`", file=sys.stderr)
            return 1
        return 0
    if current != text:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
        print(f"wrote {args.output}")
    else:
        print(f"{args.output} is up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
