"""Predictor registry for LPS: a predictor is one factory plus one registration.

``get_predictor("hgb", max_iter=50)`` builds a predictor; any object following
:class:`~lps_eval.predictors.base.Predictor`, or any scikit-learn regressor instance,
is accepted as well. A factory's options are its keyword parameters (read from its
signature, declared once); the CLI's ``--predictor`` help, the ``-P`` checks, the error
messages and the docs' table read from :func:`predictor_specs`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from lps_eval._validation import LpsInputError
from lps_eval.options import did_you_mean, keyword_defaults
from lps_eval.predictors.base import Predictor
from lps_eval.predictors.gbm_shared import SharedBinLightgbm
from lps_eval.predictors.linear import LinearPredictor
from lps_eval.predictors.sklearn_models import SklearnPredictor, hgb, knn, mlp
from lps_eval.predictors.torch_batched import TorchBatchedPredictor

__all__ = [
    "PREDICTORS",
    "PREDICTOR_PROPERTIES",
    "Predictor",
    "PredictorSpec",
    "get_predictor",
    "predictor_specs",
    "register_predictor",
]

#: Properties a predictor may declare; ``tests/test_predictors_common.py`` checks them.
PREDICTOR_PROPERTIES = {
    "closed_form": "no fit: every regression from one covariance inverse",
    "exact_latent_order": "LPS does not depend on the order of the columns, exactly",
    "seeded": "the same seed gives the same predictions",
    "needs_torch": "needs the torch extra",
    "needs_lightgbm": "needs the lightgbm extra",
}


@dataclass(frozen=True)
class PredictorSpec:
    """One registered predictor: ``factory(**options) -> Predictor``."""

    name: str
    factory: Callable[..., Predictor]
    properties: frozenset[str]
    description: str

    def options(self) -> dict[str, Any]:
        """The factory's keyword options and defaults (from its signature)."""
        return keyword_defaults(self.factory)

    def requirements(self) -> tuple[str, ...]:
        """The extras it needs (``torch``, ``lightgbm``)."""
        return tuple(
            p.removeprefix("needs_") for p in sorted(self.properties) if p.startswith("needs_")
        )


_SPECS: dict[str, PredictorSpec] = {}


def register_predictor(
    name: str,
    factory: Callable[..., Predictor] | None = None,
    *,
    properties: Iterable[str] = ("seeded",),
    description: str = "",
) -> Any:
    """Make ``factory(**options)`` available as ``predictor=name``.

    Use it as a call (``register_predictor("mine", make_mine)``) or as a decorator
    (``@register_predictor("mine")`` above the factory).
    """
    props = frozenset(properties)
    unknown = props - set(PREDICTOR_PROPERTIES)
    if unknown:
        raise ValueError(f"unknown predictor properties {sorted(unknown)}")

    def decorate(fn: Callable[..., Predictor]) -> Callable[..., Predictor]:
        doc = description or (inspect.getdoc(fn) or "").split("\n")[0]
        _SPECS[name] = PredictorSpec(name, fn, props, doc)
        return fn

    return decorate if factory is None else decorate(factory)


register_predictor(
    "linear",
    LinearPredictor,
    properties=("closed_form", "exact_latent_order", "seeded"),
    description="closed form: all d regressions from one covariance inverse",
)
register_predictor("hgb", hgb, description="HistGradientBoosting per dimension (default)")
register_predictor("mlp", mlp, description="scikit-learn MLP per dimension (the paper's LPS-mlp)")
register_predictor("knn", knn, description="k-nearest-neighbour regression per dimension")
register_predictor(
    "lightgbm",
    SharedBinLightgbm,
    properties=("seeded", "needs_lightgbm"),
    description="LightGBM per dimension on one shared binning (the paper's LPS-lgbm)",
)
register_predictor(
    "torch",
    TorchBatchedPredictor,
    properties=("seeded", "needs_torch"),
    description="one batched torch network for all d dimensions",
)


def predictor_specs() -> dict[str, PredictorSpec]:
    """Every registered predictor, in registration order."""
    return dict(_SPECS)


class _Factories(dict):
    """``PREDICTORS``: name -> factory, kept for 0.1 code (a live view of the registry)."""

    def __getitem__(self, name: str) -> Callable[..., Predictor]:
        return _SPECS[name].factory

    def get(self, name: str, default: Any = None) -> Any:
        return _SPECS[name].factory if name in _SPECS else default

    def __iter__(self):
        return iter(_SPECS)

    def __len__(self) -> int:
        return len(_SPECS)

    def __contains__(self, name: object) -> bool:
        return name in _SPECS

    def keys(self):
        return _SPECS.keys()

    def __setitem__(self, name: str, factory: Callable[..., Predictor]) -> None:
        register_predictor(name, factory)


#: Name -> factory (a live view of the registry; assignment registers).
PREDICTORS: dict[str, Callable[..., Predictor]] = _Factories()


def get_predictor(predictor: str | Any, **params: Any) -> Predictor:
    """Resolve a predictor name (with options), a predictor object or a scikit-learn regressor."""
    if isinstance(predictor, str):
        spec = _SPECS.get(predictor)
        if spec is None:
            raise LpsInputError(
                f"unknown predictor {predictor!r}{did_you_mean(predictor, _SPECS)}; choose from "
                f"{', '.join(_SPECS)} or pass a scikit-learn regressor"
            )
        valid = spec.options()
        unknown = [k for k in params if k not in valid]
        if unknown:
            raise LpsInputError(
                f"predictor {predictor!r} has no option {unknown[0]!r}"
                f"{did_you_mean(unknown[0], valid)}; valid options: "
                f"{', '.join(valid) or '(none)'} (CLI: -P KEY=VALUE)"
            )
        listing = ", ".join(valid) or "(none)"
        try:
            model = spec.factory(**params)
        except LpsInputError:
            raise
        except (TypeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise LpsInputError(
                f"predictor {predictor!r}: {first}; valid options: {listing}"
            ) from None
        check = getattr(model, "check_params", None)
        if callable(check):
            check()
        return model
    if params:
        raise LpsInputError("predictor_params only apply to a predictor given by name")
    if isinstance(predictor, Predictor):
        return predictor
    return SklearnPredictor(predictor)
