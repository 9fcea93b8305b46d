"""Predictor registry for LPS: a name maps to a factory, so adding one is one line.

``get_predictor("hgb", max_iter=50)`` builds a predictor; any object following
:class:`~lps_eval.predictors._base.Predictor`, or any scikit-learn regressor instance,
is accepted as well.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from lps_eval._validation import LpsInputError
from lps_eval.predictors._base import Predictor
from lps_eval.predictors.linear import LinearPredictor
from lps_eval.predictors.sklearn_models import SklearnPredictor, hgb, knn, lightgbm, mlp

__all__ = ["PREDICTORS", "Predictor", "get_predictor", "option_names", "register_predictor"]


def _torch(**params: Any) -> Predictor:
    from lps_eval.predictors.torch_batched import TorchBatchedPredictor

    return TorchBatchedPredictor(**params)


PREDICTORS: dict[str, Callable[..., Predictor]] = {
    "linear": LinearPredictor,
    "hgb": hgb,
    "mlp": mlp,
    "knn": knn,
    "lightgbm": lightgbm,
    "torch": _torch,
}


def option_names(factory: Callable[..., Any]) -> list[str] | None:
    """Keyword options a predictor factory takes (None when it takes ``**kwargs``)."""
    target = getattr(factory, "options_from", factory)
    try:
        params = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]


def register_predictor(name: str, factory: Callable[..., Predictor]) -> None:
    """Make ``factory(**params)`` available as ``predictor=name``."""
    PREDICTORS[name] = factory


def get_predictor(predictor: str | Any, **params: Any) -> Predictor:
    """Resolve a predictor name, predictor object or scikit-learn regressor."""
    if isinstance(predictor, str):
        factory = PREDICTORS.get(predictor)
        if factory is None:
            raise LpsInputError(
                f"unknown predictor {predictor!r}; choose from {', '.join(PREDICTORS)} "
                "or pass a scikit-learn regressor"
            )
        valid = option_names(factory)
        listing = ", ".join(valid) if valid else ("(none)" if valid == [] else "see docs/lps.md")
        if valid is not None:
            for key in params:
                if key not in valid:
                    raise LpsInputError(
                        f"predictor {predictor!r} has no option {key!r}; valid options: {listing}"
                    )
        try:
            model = factory(**params)
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
