"""Predictor registry for LPS: a name maps to a factory, so adding one is one line.

``get_predictor("hgb", max_iter=50)`` builds a predictor; any object following
:class:`~lps_eval.predictors._base.Predictor`, or any scikit-learn regressor instance,
is accepted as well.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lps_eval._validation import LpsInputError
from lps_eval.predictors._base import Predictor
from lps_eval.predictors.linear import LinearPredictor
from lps_eval.predictors.sklearn_models import SklearnPredictor, hgb, knn, lightgbm, mlp

__all__ = ["PREDICTORS", "Predictor", "get_predictor", "register_predictor"]


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
        try:
            return factory(**params)
        except TypeError as exc:
            raise LpsInputError(f"bad option for predictor {predictor!r}: {exc}") from None
    if params:
        raise LpsInputError("predictor_params only apply to a predictor given by name")
    if isinstance(predictor, Predictor):
        return predictor
    return SklearnPredictor(predictor)
