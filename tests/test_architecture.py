"""The house's rules, checked from the code itself (docs/contributing.md, "Layers").

- every ``.py`` file of ``lps_eval`` is importable as a module under its own name, both with
  ``importlib.import_module`` and with ``import lps_eval.x as m`` (no function hides it);
- no import circle anywhere in ``lps_eval/``, counting imports inside functions;
- dependencies run one way: the numerical core never imports the scorer, the CLI, the
  report or the trainer; the trainer uses only the public prior / MMD / LPS API;
- no module imports another module's underscore names.
"""

from __future__ import annotations

import ast
import importlib
import types
from pathlib import Path

import pytest

from lps_eval._layers import LAYERS, TRAINER_MAY_IMPORT, layer_of

PACKAGE = Path(__file__).resolve().parent.parent / "lps_eval"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    is_package = MODULES[module].name == "__init__.py"
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> list[tuple[str, str | None]]:
    """(imported module, imported name or None) for every import statement, anywhere."""
    tree = ast.parse(MODULES[module].read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, node)
            for alias in node.names:
                if f"{source}.{alias.name}" in MODULES:  # ``from pkg import submodule``
                    found.append((f"{source}.{alias.name}", None))
                else:
                    found.append((source, alias.name))
    return [(m, n) for m, n in found if m == "lps_eval" or m.startswith("lps_eval.")]


def _graph() -> dict[str, set[str]]:
    return {m: {target for target, _ in _imports(m) if target in MODULES} - {m} for m in MODULES}


def _layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:
        return len(LAYERS) - 1  # the package's __init__, the public API, sits on top
    try:
        return layer_of(parts[1])
    except KeyError:
        raise AssertionError(
            f"{module} belongs to no layer; add it to LAYERS in lps_eval/_layers.py"
        ) from None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_file_is_importable_as_its_module(module):
    if module.startswith("lps_eval.train") and module != "lps_eval.train":
        pytest.importorskip("torch")
    if module.startswith(("lps_eval.reporting", "lps_eval.cli.report")):
        pytest.importorskip("matplotlib")
    loaded = importlib.import_module(module)
    assert isinstance(loaded, types.ModuleType)
    namespace: dict = {}
    exec(f"import {module} as m", namespace)  # attribute lookup first: a function would win
    assert namespace["m"] is loaded, f"`import {module} as m` does not give the module"


def test_no_import_circle():
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert not circles, f"import circles: {circles}"


def test_dependencies_run_downwards():
    upward = [
        f"{m} -> {t}"
        for m, targets in _graph().items()
        for t in targets
        if len(m.split(".")) > 1 and _layer(t) > _layer(m)
    ]
    assert not upward, "imports that run up the layers: " + "; ".join(sorted(upward))


def test_trainer_uses_only_the_public_api():
    outside = [
        f"{m} -> {t}"
        for m, targets in _graph().items()
        if m.startswith("lps_eval.train")
        for t in targets
        if not t.startswith("lps_eval.train") and t not in TRAINER_MAY_IMPORT
    ]
    assert not outside, "; ".join(sorted(outside))


def test_no_module_imports_another_modules_underscore_names():
    private = [
        f"{m}: from {source} import {name}"
        for m in MODULES
        for source, name in _imports(m)
        if name and name.startswith("_") and not name.startswith("__") and source != m
    ]
    assert not private, "; ".join(sorted(private))


def test_the_top_level_functions_are_the_functions():
    import lps_eval

    assert callable(lps_eval.lps) and lps_eval.lps.__name__ == "lps"
    assert callable(lps_eval.mmd) and lps_eval.mmd.__name__ == "mmd"
    assert callable(lps_eval.score) and lps_eval.score.__name__ == "score"


# ------------------------------------------------------------------ no deprecated paths

ROOT = PACKAGE.parent
#: Where users copy code from: nothing there may import a path that _moved deprecates.
USER_FACING = ("tests", "examples", "benchmarks", "experiments", "tools", "docs")


def _user_facing_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "mkdocs.yml"]
    for folder in USER_FACING:
        files += sorted((ROOT / folder).rglob("*.py")) + sorted((ROOT / folder).rglob("*.md"))
    return [f for f in files if f.is_file() and "fixtures" not in f.parts]


def _still_a_name(dotted: str) -> bool:
    """True when ``a.b.c`` is a real attribute of ``a.b`` (a function the package exports),
    not only a moved module's alias."""
    from lps_eval._moved import MovedModule

    parent, _, name = dotted.rpartition(".")
    try:
        value = getattr(importlib.import_module(parent), name)
    except (AttributeError, ImportError):
        return False
    return not isinstance(value, (MovedModule, types.ModuleType))


def _deprecated_uses(text: str) -> list[str]:
    """Imports (and mkdocstrings ``:::`` directives) of moved modules and names."""
    import re

    from lps_eval._moved import MOVED_ATTRIBUTES, MOVED_MODULES

    found = []
    for old in MOVED_MODULES:
        pattern = rf"(?:from\s+{re.escape(old)}\s+import|import\s+{re.escape(old)}\b)"
        found += [f"{old} ({m.group(0)!r})" for m in re.finditer(pattern, text)]
        if not _still_a_name(old):  # `::: lps_eval.metrics.mig` is the function: fine
            pattern = rf":::\s+{re.escape(old)}\b"
            found += [f"{old} ({m.group(0)!r})" for m in re.finditer(pattern, text)]
    for package, name in MOVED_ATTRIBUTES:
        pattern = rf"from\s+{re.escape(package)}\s+import\s+(?:[\w, ]*\b){name}\b|\b{re.escape(package)}\.{name}\."
        found += [f"{package}.{name} ({m.group(0)!r})" for m in re.finditer(pattern, text)]
    return found


def test_nothing_user_facing_imports_a_deprecated_path():
    here = Path(__file__).resolve()
    uses = {
        str(f.relative_to(ROOT)): _deprecated_uses(f.read_text(encoding="utf-8"))
        for f in _user_facing_files()
        if f.resolve() != here
    }
    # the deprecation tests themselves import old paths on purpose, inside pytest.warns
    allowed = {"tests/test_architecture.py", "tests/test_deprecations.py"}
    bad = {f: u for f, u in uses.items() if u and f not in allowed}
    assert not bad, f"deprecated paths in use (see lps_eval/_moved.py): {bad}"


def test_the_deprecated_path_check_can_fail():
    assert _deprecated_uses("from lps_eval.sweep import score_many")
    assert _deprecated_uses("import lps_eval.plot as plots")
    assert _deprecated_uses("x = lps_eval.plot.marginals(z)")
    assert _deprecated_uses("::: lps_eval.comparison.compare")
    assert not _deprecated_uses("from lps_eval.scoring import score_many")


# ------------------------------------------------------------------ tests mirror the package

#: Test files under tests/ whose name is a topic that spans modules, with the reason.
TOPIC_TESTS = {
    "tests/test_architecture.py": "the house's rules",
    "tests/test_deprecations.py": "old paths and names keep working for one release",
    "tests/test_registries_common.py": "every predictor, kernel and prior form",
    "tests/test_bad_input_matrix.py": "every bad input through the CLI",
    "tests/test_inputs_hardening.py": "odd but valid inputs through the CLI",
    "tests/test_validity.py": "null rejection and invariances across sections",
    "tests/metrics/test_golden_dlib.py": "disentanglement_lib parity of every metric",
    "tests/metrics/test_golden_peers.py": "parity with latte, InfoMEC, MED, DCI-ES, Ubisoft code",
    "tests/metrics/test_mutual_information.py": "the MI-based metrics together",
    "tests/metrics/test_probe_metrics.py": "the probe-based metrics together",
    "tests/reporting/test_builder_browser.py": "the report in headless Chromium",
    "tests/test_readme_speed_table.py": "README.md's speed table is benchmarks/ CSV, rendered",
    "tests/test_paper_tables.py": "experiments/paper_tables.py, the paper's comparison",
}


def _package_modules(folder: Path) -> set[str]:
    return {p.stem for p in folder.glob("*.py") if p.stem != "__init__"} | {
        p.name for p in folder.iterdir() if p.is_dir() and (p / "__init__.py").is_file()
    }


def test_tests_mirror_the_package():
    tests = ROOT / "tests"
    misplaced = []
    for path in sorted(tests.rglob("test_*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in TOPIC_TESTS:
            continue
        folder = PACKAGE.joinpath(*path.parent.relative_to(tests).parts)
        if not (folder / "__init__.py").is_file():
            misplaced.append(f"{rel}: lps_eval/{folder.relative_to(PACKAGE)} is no package")
            continue
        subject = path.stem[len("test_") :]
        modules = _package_modules(folder)
        if not any(
            subject == m.lstrip("_") or subject.startswith(m.lstrip("_") + "_") for m in modules
        ):
            misplaced.append(f"{rel}: no module {subject!r} in {folder.relative_to(ROOT)}")
    assert not misplaced, (
        "tests/ must mirror lps_eval/ (or be listed in TOPIC_TESTS): " + "; ".join(misplaced)
    )
    stale = [t for t in TOPIC_TESTS if not (ROOT / t).is_file()]
    assert not stale, f"TOPIC_TESTS lists files that do not exist: {stale}"


# ------------------------------------------------------------------ small functions

#: Longest function body (lines of code, docstring excluded) without a stated reason.
MAX_FUNCTION_LINES = 80


def _long_functions() -> list[str]:
    found = []
    for module, path in MODULES.items():
        source = path.read_text()
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            body = node.body
            first = body[0]
            doc_end = (
                first.end_lineno
                if isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
                else node.lineno
            )
            length = node.end_lineno - doc_end
            head = lines[node.lineno - 2] if node.lineno >= 2 else ""
            reason = "# long:" in head or "# long:" in lines[node.lineno - 1]
            if length > MAX_FUNCTION_LINES and not reason:
                found.append(f"{module}.{node.name} ({length} lines)")
    return found


def test_functions_are_short_or_say_why():
    long = _long_functions()
    assert not long, (
        f"functions over {MAX_FUNCTION_LINES} lines of code: carve them into named steps, "
        "or put a '# long: <why>' comment on the line above the def: " + ", ".join(long)
    )


def test_the_layer_list_is_written_once_and_rendered_in_the_docs():
    page = (ROOT / "docs" / "contributing.md").read_text()
    assert "<!-- registry:layers -->" in page
    every_name = [n for _, _, names in LAYERS for n in names]
    assert len(every_name) == len(set(every_name)), "a name sits in two layers"
    tops = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()}
    tops = {t for t in tops if t != "__init__" and not t.startswith("__") and t != "py"}
    missing = sorted(
        t
        for t in tops
        if (PACKAGE / f"{t}.py").is_file() or (PACKAGE / t / "__init__.py").is_file()
    )
    stale = sorted(set(every_name) - set(missing))
    unlisted = sorted(set(missing) - set(every_name))
    assert not stale, f"lps_eval/_layers.py lists names that do not exist: {stale}"
    assert not unlisted, f"modules in no layer of lps_eval/_layers.py: {unlisted}"
    package_doc = importlib.import_module("lps_eval").__doc__
    assert "_layers" in package_doc  # the package docstring points there, lists nothing
