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


def test_moved_module_paths_keep_working_with_a_warning():
    import lps_eval
    from lps_eval.prior_matching import mmd2

    with pytest.warns(lps_eval.LpsDeprecationWarning, match="lps_eval.prior_matching"):
        from lps_eval.mmd import mmd2 as old_mmd2
    assert old_mmd2 is mmd2
    with pytest.warns(lps_eval.LpsDeprecationWarning, match="lps_eval.metrics"):
        from lps_eval.metrics.mig import mig
    assert mig is lps_eval.metrics.mig
    assert callable(lps_eval.mmd) and lps_eval.mmd.__name__ == "mmd"  # not clobbered


def test_deprecated_flat_options_still_work_with_a_warning():
    import numpy as np

    import lps_eval

    z = np.random.default_rng(0).normal(size=(400, 3))
    new = lps_eval.score(z, metrics=["mmd"], mmd={"permutations": 20})
    with pytest.warns(lps_eval.LpsDeprecationWarning, match="mmd.permutations"):
        old = lps_eval.score(z, metrics=["mmd"], permutations=20)
    assert old.equals(new)
    with pytest.raises(lps_eval.LpsInputError, match="did you mean 'permutations'"):
        lps_eval.score(z, metrics=["mmd"], mmd={"permutation": 20})
