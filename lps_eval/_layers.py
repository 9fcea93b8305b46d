"""The package's layers, written once: which rooms may import which.

A module may import from its own layer or a lower one, never from a higher one, and
never another module's underscore names. ``tests/test_architecture.py`` checks every
import statement of the package against :data:`LAYERS` and :data:`TRAINER_MAY_IMPORT`;
the docs hook renders both into docs/contributing.md, so the code, the test and the page
cannot disagree.
"""

from __future__ import annotations

__all__ = ["LAYERS", "TRAINER_MAY_IMPORT", "layer_of"]

#: (layer, what it holds, top-level names of ``lps_eval`` in it), lowest first.
LAYERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "base",
        "validation, seeds, options, tidy results, files, streaming, schedulers, model inputs, "
        "multiplicity control, known-answer worlds",
        (
            "_layers",
            "_moved",
            "_random",
            "_validation",
            "_version",
            "archives",
            "display",
            "information",
            "io",
            "models",
            "multiple_testing",
            "options",
            "results",
            "schedulers",
            "simulations",
            "streaming",
        ),
    ),
    (
        "core",
        "the numerical core: pure functions on arrays, and the datasets they are measured on",
        ("data", "independence", "metrics", "predictability", "predictors", "prior_matching"),
    ),
    (
        "scoring",
        "score one model, sweep many, compare them, gate the result",
        ("scoring",),
    ),
    (
        "applications",
        "what is built on scoring: the HTML report and figures, the reference trainer, the "
        "evaluation of encoders on datasets",
        ("evaluation", "reporting", "train"),
    ),
    (
        "interface",
        "the command line: one module per command",
        ("cli",),
    ),
)

#: What the trainer may import from the rest of the package: public APIs only.
TRAINER_MAY_IMPORT: tuple[str, ...] = (
    "lps_eval._random",
    "lps_eval._validation",
    "lps_eval._version",
    "lps_eval.data",
    "lps_eval.io",
    "lps_eval.models",
    "lps_eval.predictability",
    "lps_eval.prior_matching",
    "lps_eval.results",
    "lps_eval.schedulers",
    "lps_eval.simulations",
)


def layer_of(top: str) -> int:
    """Rank (0 = lowest) of the layer that holds ``lps_eval.<top>``.

    Raises
    ------
    KeyError
        ``top`` belongs to no layer.
    """
    for rank, (_, _, names) in enumerate(LAYERS):
        if top in names:
            return rank
    raise KeyError(top)
