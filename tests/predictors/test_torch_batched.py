"""Tests of the batched torch LPS predictor (lps_eval.predictors.torch_batched).

Known answers used here:

* ``z1 = sin(z0) + s * e`` with ``z0, e ~ N(0, 1)``: the best regressor of ``z1`` on
  ``(z0, z2)`` reaches the correlation ratio ``R2 = V / (V + s^2)`` with
  ``V = Var(sin z0) = (1 - exp(-2)) / 2``.
* An independent column has population ``R2 = 0`` (a head that saw its own target would
  score ~1 instead: this is the leakage check).
* For a Gaussian vector with covariance ``S`` and ``P = S^-1``, the best predictor of
  ``z_i`` from the others is linear and ``R2_i = 1 - 1 / (S_ii P_ii)``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("torch")

from lps_eval._validation import LpsInputError
from lps_eval.predictors.base import Predictor
from lps_eval.predictors.torch_batched import TorchBatchedPredictor


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny models: one intra-op thread is faster, and robust on a busy shared CPU."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


FAST = {"hidden": 16, "layers": 1, "epochs": 3, "batch_size": 64}


def _standardize(train, test):
    mu, sd = train.mean(axis=0), train.std(axis=0)
    return (train - mu) / sd, (test - mu) / sd


def _r2(pred, y):
    return 1.0 - ((pred - y) ** 2).sum(axis=0) / ((y - y.mean(axis=0)) ** 2).sum(axis=0)


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(300, 4))
    z[:, 1] += z[:, 0]
    return _standardize(z[:200], z[200:])


def test_is_a_predictor_with_json_settings():
    p = TorchBatchedPredictor()
    assert isinstance(p, Predictor)
    assert p.name == "torch"
    s = p.settings()
    assert json.loads(json.dumps(s)) == s
    assert s["predictor"] == "torch" and s["dtype"] == "float32"


def test_output_shape_dtype(small):
    train, test = small
    out = TorchBatchedPredictor(**FAST).fit_predict(train, test[:37], seed=0)
    assert out.shape == (37, 4)
    assert out.dtype == np.float64
    assert np.isfinite(out).all()


def test_float32_inputs_accepted(small):
    train, test = small
    p = TorchBatchedPredictor(**FAST)
    a = p.fit_predict(train, test, seed=3)
    b = p.fit_predict(train.astype(np.float32), test.astype(np.float32), seed=3)
    np.testing.assert_array_equal(a, b)  # compute is float32 either way


def test_head_i_is_blind_to_column_i(small):
    """Changing test column i leaves prediction i bit-identical, and changes the others."""
    train, test = small
    p = TorchBatchedPredictor(**FAST)
    base = p.fit_predict(train, test, seed=0)
    rng = np.random.default_rng(7)
    for i in range(test.shape[1]):
        changed = test.copy()
        changed[:, i] = rng.normal(scale=5.0, size=len(test))
        out = p.fit_predict(train, changed, seed=0)
        np.testing.assert_array_equal(out[:, i], base[:, i])
        others = np.delete(np.arange(test.shape[1]), i)
        assert not np.allclose(out[:, others], base[:, others])


def test_same_seed_identical_different_seed_differs(small):
    train, test = small
    p = TorchBatchedPredictor(**FAST)
    a = p.fit_predict(train, test, seed=11)
    b = p.fit_predict(train, test, seed=11)
    c = p.fit_predict(train, test, seed=12)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_global_torch_rng_untouched(small):
    import torch

    train, test = small
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    TorchBatchedPredictor(**FAST).fit_predict(train, test, seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_nonlinear_known_answer_and_no_leakage():
    """d=3: z1 = sin(z0) + s e (R2 = V / (V + s^2)), z2 independent (R2 = 0)."""
    rng = np.random.default_rng(0)
    n, s = 4000, 0.3
    z0 = rng.normal(size=n)
    z = np.column_stack([z0, np.sin(z0) + s * rng.normal(size=n), rng.normal(size=n)])
    train, test = _standardize(z[:3000], z[3000:])
    pred = TorchBatchedPredictor(hidden=32).fit_predict(train, test, seed=0)
    r2 = _r2(pred, test)
    v = (1.0 - np.exp(-2.0)) / 2.0
    expected = v / (v + s**2)  # 0.8277
    assert abs(r2[1] - expected) < 0.04, r2
    assert abs(r2[2]) < 0.03, r2  # a leaking head would score ~1 here


def test_gaussian_known_answer_d4():
    """R2_i = 1 - 1 / (S_ii P_ii) for jointly Gaussian latents."""
    cov = np.array(
        [
            [1.0, 0.8, 0.3, 0.0],
            [0.8, 1.0, 0.2, 0.0],
            [0.3, 0.2, 1.0, 0.5],
            [0.0, 0.0, 0.5, 1.0],
        ]
    )
    expected = 1.0 - 1.0 / (np.diag(cov) * np.diag(np.linalg.inv(cov)))
    rng = np.random.default_rng(5)
    z = rng.multivariate_normal(np.zeros(4), cov, size=4000)
    train, test = _standardize(z[:3000], z[3000:])
    pred = TorchBatchedPredictor(hidden=32, layers=1).fit_predict(train, test, seed=1)
    np.testing.assert_allclose(_r2(pred, test), expected, atol=0.05)


def test_d2_works_and_matches_correlation():
    """d=2, z1 = z0 + s e: both heads reach R2 = rho^2 = 1 / (1 + s^2)."""
    rng = np.random.default_rng(2)
    n, s = 2000, 0.75
    z0 = rng.normal(size=n)
    z = np.column_stack([z0, z0 + s * rng.normal(size=n)])
    train, test = _standardize(z[:1500], z[1500:])
    pred = TorchBatchedPredictor(hidden=16, layers=1).fit_predict(train, test, seed=0)
    assert pred.shape == (500, 2)
    np.testing.assert_allclose(_r2(pred, test), 1.0 / (1.0 + s**2), atol=0.05)


def test_early_stopping_records_and_stops(small):
    train, test = small
    p = TorchBatchedPredictor(hidden=16, layers=1, epochs=500, patience=3, tol=0.0)
    p.fit_predict(train, test, seed=0)
    info = p.fit_info_
    assert info["n_val"] == 20 and info["n_fit"] == 180
    assert info["epochs_run"] < 500
    # every head trains exactly `patience` epochs past its kept weights, then is dropped
    np.testing.assert_array_equal(np.array(info["head_epochs"]), np.array(info["best_epoch"]) + 3)
    assert info["epochs_run"] == max(info["head_epochs"])
    q = TorchBatchedPredictor(**FAST, early_stopping=False)
    q.fit_predict(train, test, seed=0)
    assert q.fit_info_["epochs_run"] == 3 and q.fit_info_["n_val"] == 0


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"hidden": 0}, "hidden"),
        ({"layers": 1.5}, "layers"),
        ({"epochs": -1}, "epochs"),
        ({"batch_size": True}, "batch_size"),
        ({"lr": 0.0}, "lr"),
        ({"weight_decay": -1e-3}, "weight_decay"),
        ({"weight_decay": float("nan")}, "weight_decay"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"early_stopping": "yes"}, "early_stopping"),
        ({"device": ""}, "device"),
    ],
)
def test_bad_options_raise(kwargs, word):
    with pytest.raises(LpsInputError, match=word):
        TorchBatchedPredictor(**kwargs)


def test_bad_device_and_shapes(small):
    train, test = small
    with pytest.raises(LpsInputError, match="device"):
        TorchBatchedPredictor(**FAST, device="nonsense").fit_predict(train, test, seed=0)
    with pytest.raises(LpsInputError, match="2 dimensions"):
        TorchBatchedPredictor(**FAST).fit_predict(train[:, :1], test[:, :1], seed=0)
    with pytest.raises(LpsInputError, match="same number"):
        TorchBatchedPredictor(**FAST).fit_predict(train, test[:, :3], seed=0)
    with pytest.raises(LpsInputError, match="seed"):
        TorchBatchedPredictor(**FAST).fit_predict(train, test, seed=None)


def test_cuda_request_without_cuda(small):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    train, test = small
    with pytest.raises(LpsInputError, match="CUDA is not available"):
        TorchBatchedPredictor(**FAST, device="cuda").fit_predict(train, test, seed=0)


def test_missing_torch_message(monkeypatch, small):
    import importlib.util

    train, test = small
    p = TorchBatchedPredictor(**FAST)
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    with pytest.raises(LpsInputError, match=r"pip install 'lps-eval\[torch\]'"):
        p.fit_predict(train, test, seed=0)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a, **k: None)
    with pytest.raises(LpsInputError, match="needs PyTorch"):
        TorchBatchedPredictor()


def test_import_without_torch():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import lps_eval, lps_eval.predictors.torch_batched\n"
        "assert 'torch' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_known_answer():
    rng = np.random.default_rng(0)
    n, s = 4000, 0.3
    z0 = rng.normal(size=n)
    z = np.column_stack([z0, np.sin(z0) + s * rng.normal(size=n), rng.normal(size=n)])
    train, test = _standardize(z[:3000], z[3000:])
    p = TorchBatchedPredictor(hidden=32, device="cuda")
    r2 = _r2(p.fit_predict(train, test, seed=0), test)
    v = (1.0 - np.exp(-2.0)) / 2.0
    assert p.fit_info_["device"].startswith("cuda")
    assert abs(r2[1] - v / (v + s**2)) < 0.04 and abs(r2[2]) < 0.03


def test_dropping_heads_keeps_the_others_adam_trajectory():
    """Slicing parameters and Adam moments to a head subset changes nothing for those heads."""
    import torch

    p = TorchBatchedPredictor(hidden=8, layers=2, weight_decay=1e-3)
    gen = torch.Generator().manual_seed(0)
    d = 5
    params = [t.requires_grad_(True) for t in p._init_params(torch, d, gen)]
    opt = torch.optim.Adam(params, lr=p.lr, weight_decay=p.weight_decay)
    grads = [[torch.randn(t.shape, generator=gen) for t in params] for _ in range(4)]
    for g in grads[:2]:
        for t, gt in zip(params, g, strict=True):
            t.grad = gt.clone()
        opt.step()
    keep = torch.tensor([0, 2, 3])
    sub, sub_opt = p._keep_heads(torch, params, opt, keep)
    for g in grads[2:]:
        for t, s, gt in zip(params, sub, g, strict=True):
            t.grad = gt.clone()
            s.grad = gt[keep].clone()
        opt.step()
        sub_opt.step()
    for t, s in zip(params, sub, strict=True):
        torch.testing.assert_close(s.detach(), t.detach()[keep], rtol=0, atol=0)
