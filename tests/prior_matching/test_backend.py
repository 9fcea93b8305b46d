"""The array backend and the two MMD engines held together.

As POT's ``test/test_backend.py``: every operation of the backend interface is run on
torch and compared with numpy; then the tiled numpy engine and the backend engine give
the same MMD^2 for every registered kernel and every estimator.
"""

from __future__ import annotations

import numpy as np
import pytest

from lps_eval.prior_matching import ESTIMATORS, KERNELS, make_kernel, mmd2
from lps_eval.prior_matching.backend import NUMPY, OPERATIONS, namespace

torch = pytest.importorskip("torch")
TORCH = namespace(torch.zeros(1))
RNG = np.random.default_rng


def _pair(seed=0, n=37, m=29, d=3):
    rng = RNG(seed)
    return rng.normal(size=(n, d)), 0.8 * rng.normal(size=(m, d)) + 0.3


def _t(a):
    return torch.as_tensor(a, dtype=torch.float64)


def _run(op, xp, a, b):
    wrap = (lambda v: v) if xp is NUMPY else _t
    d2 = NUMPY.sqdist(a, b)
    calls = {
        "sqdist": lambda: xp.sqdist(wrap(a), wrap(b)),
        "zero_diagonal": lambda: xp.zero_diagonal(
            wrap(NUMPY.sqdist(a, a)[:, 5:]).clone()
            if xp is not NUMPY
            else NUMPY.sqdist(a, a)[:, 5:].copy(),
            0,
        ),
        "exp": lambda: xp.exp(wrap(-d2)),
        "sqrt": lambda: xp.sqrt(wrap(d2)),
        "sum": lambda: xp.sum(wrap(d2)),
        "mean": lambda: xp.mean(wrap(d2), axis=0),
        "rowsum": lambda: xp.rowsum(wrap(d2)),
        "zero": lambda: xp.zero(wrap(a)),
        "to_numpy": lambda: xp.to_numpy(wrap(a)),
        "as_float": lambda: xp.as_float(xp.sum(wrap(a))),
        "center": lambda: xp.center(wrap(a), wrap(b)),
    }
    return calls[op]()


def _numpy(value):
    if isinstance(value, tuple):
        return tuple(_numpy(v) for v in value)
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def test_both_backends_implement_exactly_the_interface():
    for op in OPERATIONS:
        assert callable(getattr(NUMPY, op)) and callable(getattr(TORCH, op)), op


@pytest.mark.parametrize("op", OPERATIONS)
def test_operation_on_torch_matches_numpy(op):
    a, b = _pair()
    expected = _numpy(_run(op, NUMPY, a, b))
    got = _numpy(_run(op, TORCH, a, b))
    if isinstance(expected, tuple):
        for e, g in zip(expected, got, strict=True):
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_mixed_inputs_are_refused():
    from lps_eval import LpsInputError

    with pytest.raises(LpsInputError, match="mix"):
        namespace(np.zeros(2), torch.zeros(2))


@pytest.mark.parametrize("kernel", sorted(KERNELS))
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_numpy_engine_equals_backend_engine(kernel, estimator):
    """numpy input runs the tiled in-place engine (or the backend one for ``linear``);
    torch input runs the backend engine: same number for every kernel and estimator."""
    x, y = _pair(seed=3)
    kern = make_kernel(kernel, pooled=np.vstack([x, y]), rng=0)
    value_numpy = mmd2(x, y, kernel=kern, estimator=estimator)
    value_torch = mmd2(_t(x), _t(y), kernel=kern, estimator=estimator)
    assert float(value_torch) == pytest.approx(value_numpy, rel=1e-10, abs=1e-12)
    small_block = mmd2(x, y, kernel=kern, estimator=estimator, block=7)  # tiling is exact
    assert small_block == pytest.approx(value_numpy, rel=1e-10, abs=1e-12)
