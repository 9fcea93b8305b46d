"""UDR parity with disentanglement_lib's ``compute_udr_sklearn`` on identical codes and KL.

Golden numbers: ``tools/dlib/make_golden_udr.py`` (disentanglement_lib's own ``udr.py``, run
in a throwaway environment) on the :func:`lps_eval.simulations.udr_models` worlds, every
row used. Lasso: the same scikit-learn coordinate descent on the same standardized arrays,
so equal to the last digit (tolerance 1e-12, float round-off). Spearman: Pearson
correlation of ranks computed with one matrix product instead of scipy's per-pair
``spearmanr``; they differ by float round-off (< 1e-15), tolerance 1e-12.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from lps_eval import metrics
from lps_eval import simulations as sim

GOLDEN = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "dlib_golden_udr.json").read_text()
)
UDR = GOLDEN["udr"]
EXACT = 1e-12

CONFIGS = [(case, key) for case, entry in UDR.items() for key in entry if key != "checksum"]


def _checked_world(case):
    zs, kls = sim.udr_models(case)
    checksum = float(sum(np.abs(z).sum() for z in zs) + sum(k.sum() for k in kls))
    assert checksum == pytest.approx(UDR[case]["checksum"], rel=1e-12), (
        "simulations.udr_models drifted from the arrays the golden numbers were made from"
    )
    return zs, kls


def _options(key):
    correlation, filt, threshold = key.split(":")
    return {
        "correlation": correlation,
        "filter_low_kl": filt == "filter=True",
        "kl_threshold": float(threshold.split("=")[1]),
    }


def test_every_world_and_setting_has_a_golden():
    assert set(UDR) == set(sim.UDR_CASES)
    assert len(CONFIGS) == 6 * len(sim.UDR_CASES)


@pytest.mark.parametrize(("case", "key"), CONFIGS)
def test_model_scores_and_pairwise_equal_dlib(case, key):
    zs, kls = _checked_world(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = metrics.udr(zs, kls, num_samples=None, **_options(key))
    golden = UDR[case][key]
    np.testing.assert_allclose(res.model_scores, golden["model_scores"], rtol=0, atol=EXACT)
    np.testing.assert_allclose(res.pairwise, golden["pairwise"], rtol=0, atol=EXACT)


@pytest.mark.parametrize(
    ("case", "key"), [(c, k) for c, k in CONFIGS if "raw_correlations" in UDR[c][k]]
)
def test_raw_similarity_matrices_equal_dlib(case, key):
    zs, kls = _checked_world(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = metrics.udr(zs, kls, num_samples=None, **_options(key))
    raw = np.asarray(UDR[case][key]["raw_correlations"], dtype=float)
    for i in range(len(zs)):
        for j in range(len(zs)):
            if i != j:
                np.testing.assert_allclose(
                    res.correlations[i][j], raw[i, j], rtol=0, atol=EXACT, equal_nan=True
                )
