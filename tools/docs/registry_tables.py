"""mkdocs hook: the docs' registry tables are generated from the registries at build time.

A page writes a placeholder such as ``<!-- registry:predictors -->`` on a line of its own;
this hook replaces it with a Markdown table read from the live registry, so a predictor,
kernel, prior form or metric registered in the code appears in the docs without anyone
editing a table. Placeholders: objectives, predictors, kernels, priors, metrics, options,
layers.
"""

from __future__ import annotations

import re

PLACEHOLDER = re.compile(r"^<!-- registry:([a-z_]+) -->$", re.MULTILINE)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _code(items) -> str:
    return ", ".join(f"`{i}`" for i in items) or "(none)"


def predictors() -> str:
    from lps_eval.predictors import predictor_specs

    rows = [
        [f"`{s.name}`", s.description, _code(s.options()), _code(sorted(s.properties))]
        for s in predictor_specs().values()
    ]
    return _table(["name", "what", "options (`-P KEY=VALUE`)", "properties"], rows)


def kernels() -> str:
    from lps_eval.prior_matching.kernels import FAMILIES, KERNELS

    rows = [
        [
            f"`{name}`",
            f"`{spec.family}`",
            ", ".join(f"{m:g}" for m in spec.multipliers) or "-",
            (FAMILIES[spec.family].__doc__ or "").strip().split("\n")[0],
        ]
        for name, spec in KERNELS.items()
    ]
    return _table(["kernel", "family", "scale multipliers", "family"], rows)


def priors() -> str:
    from lps_eval.prior_matching.priors import MARGINAL_FORMS, PRIOR_SOURCES

    rows = [
        [
            f"`{f.name}({', '.join(f.parameters)})`",
            "required" if f.defaults is None else ", ".join(f"{v:g}" for v in f.defaults),
            _code(f.aliases),
            f.description,
        ]
        for f in MARGINAL_FORMS.values()
    ]
    rows += [[f"`{p}:PATH`", "-", "-", "file-backed prior"] for p in PRIOR_SOURCES]
    return _table(["form", "defaults", "aliases", "meaning"], rows)


def metrics() -> str:
    from lps_eval.metrics import metric_specs

    rows = [
        [f"`{s.name}`", _code(s.rows), _code(s.options()), _code(sorted(s.properties))]
        for s in metric_specs().values()
    ]
    return _table(["function", "rows", "options (namespace = function)", "properties"], rows)


def options() -> str:
    from lps_eval.scoring import namespace_defaults

    rows = [
        [f"`{ns}`", ", ".join(f"`{k}={v!r}`" for k, v in values.items())]
        for ns, values in namespace_defaults().items()
    ]
    return _table(["namespace", "options and their defaults in `score`"], rows)


def layers() -> str:
    from lps_eval._layers import LAYERS, TRAINER_MAY_IMPORT

    rows = [
        [f"{rank + 1}. **{name}**", what, _code(f"lps_eval.{n}" for n in names)]
        for rank, (name, what, names) in reversed(list(enumerate(LAYERS)))
    ]
    table = _table(["layer (top first)", "what it holds", "modules and packages"], rows)
    return table + "\n\nThe trainer may import only: " + _code(TRAINER_MAY_IMPORT) + "."


def objectives() -> str:
    from lps_eval.train.objectives import objective_specs

    # formulas and choices hold "|": plain text, where the table's escape renders it
    rows = [
        [
            f"`{name}`",
            cls.summary,
            cls.formula,
            "; ".join(f"`{p.name}` = {p.describe().split('=', 1)[1]}: {p.help}" for p in cls.params)
            or "(none)",
            cls.reference,
        ]
        for name, cls in objective_specs().items()
    ]
    return _table(["objective", "what", "loss", "parameters (`-O KEY=VALUE`)", "reference"], rows)


TABLES = {
    "objectives": objectives,
    "predictors": predictors,
    "kernels": kernels,
    "priors": priors,
    "metrics": metrics,
    "options": options,
    "layers": layers,
}


def render(markdown: str) -> str:
    """Replace every placeholder with its table (unknown names are an error)."""

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in TABLES:
            raise ValueError(f"unknown registry table {name!r}; known: {', '.join(TABLES)}")
        return TABLES[name]()

    return PLACEHOLDER.sub(replace, markdown)


def on_page_markdown(markdown, page, config, files):  # mkdocs hook signature
    return render(markdown)
