"""The registry: names, specs and the one-line message for missing files."""

from __future__ import annotations

import numpy as np
import pytest

from lps_eval import LpsInputError
from lps_eval.data import dataset_specs, get_dataset


def test_every_procedural_and_bundled_dataset_matches_its_spec():
    for name, spec in dataset_specs().items():
        if spec.kind == "files":
            continue
        ds = get_dataset(name)
        assert (ds.n_images, tuple(ds.image_shape)) == (spec.n_images, spec.image_shape), name
        if spec.factors is not None:
            assert tuple(ds.factor_names) == tuple(n for n, _ in spec.factors)
            assert ds.factor_sizes == spec.factor_sizes
        images = ds.images(np.array([0, ds.n_images - 1]))
        assert images.dtype == np.float32 and images.min() >= 0 and images.max() <= 1


def test_missing_files_say_how_to_get_them(tmp_path):
    for name, spec in dataset_specs().items():
        if spec.kind != "files":
            continue
        with pytest.raises(LpsInputError) as info:
            get_dataset(name, data_dir=tmp_path)
        message = str(info.value)
        assert f"lps-eval data download {name}" in message and "\n" not in message
        assert spec.files[0].url in message


def test_unknown_names_suggest_a_close_one():
    with pytest.raises(LpsInputError, match="did you mean 'shapes3d'"):
        get_dataset("shapes3")
