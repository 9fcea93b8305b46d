"""The procedural dSprites moved here; the trainer's module keeps the same objects."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from lps_eval import LpsDeprecationWarning
from lps_eval.data import ProceduralDSprites, get_dataset, procedural

pytest.importorskip("torch")


def test_the_trainer_sees_the_same_objects():
    from lps_eval.train import data as tdata

    assert tdata.render_dsprites is procedural.render_dsprites
    assert tdata.ProceduralDSprites is ProceduralDSprites
    with pytest.warns(LpsDeprecationWarning, match="dsprites_procedural"):
        legacy = tdata.make_source("dsprites")
    new = tdata.make_source("dsprites_procedural")
    index = np.array([0, 1000, 737_279])
    np.testing.assert_array_equal(legacy.images(index), new.images(index))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tdata.make_source("xy").n_images == 1024


def test_grid_and_factors_agree():
    ds = get_dataset("dsprites_procedural")
    index = np.random.default_rng(0).integers(0, ds.n_images, 100)
    np.testing.assert_array_equal(ds.index_of(ds.factors(index)), index)
    assert ds.factor_sizes == (3, 6, 40, 32, 32)
