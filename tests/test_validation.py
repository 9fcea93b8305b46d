"""Input validation at the boundary (lps_eval._validation): masked arrays."""

from __future__ import annotations

import numpy as np
import pytest

import lps_eval
from lps_eval import LpsInputError


def test_a_masked_array_with_hidden_values_is_refused_naming_the_fix():
    z = np.random.default_rng(0).normal(size=(300, 3))
    masked = np.ma.masked_array(z, mask=np.zeros_like(z, dtype=bool))
    masked.mask[[5, 9], 1] = True
    masked.mask[9, 2] = True
    for call in (
        lambda: lps_eval.score(masked, metrics=["lps"]),
        lambda: lps_eval.lps(masked),
        lambda: lps_eval.mmd(masked),
    ):
        with pytest.raises(LpsInputError, match=r"3 masked value\(s\) in 2 row\(s\).*filled"):
            call()
    factors = np.ma.masked_array((z > 0).astype(int), mask=z < -2.5)
    with pytest.raises(LpsInputError, match="factors is a masked array"):
        lps_eval.metrics.mig(z, factors)


def test_a_masked_array_that_hides_nothing_is_its_data():
    z = np.random.default_rng(1).normal(size=(400, 3))
    plain = lps_eval.lps(z, predictor="linear", n_boot=20)
    masked = lps_eval.lps(np.ma.masked_array(z), predictor="linear", n_boot=20)
    assert masked.value == plain.value and masked.ci_low == plain.ci_low
