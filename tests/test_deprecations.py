"""Old paths, names and options keep working for one release, each with a warning that
names its replacement (lps_eval/_moved.py, lps_eval.options.renamed_keywords)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import lps_eval
from lps_eval import LpsDeprecationWarning, LpsInputError


def test_moved_module_paths_keep_working_with_a_warning():
    import lps_eval
    from lps_eval.prior_matching import mmd2

    with pytest.warns(lps_eval.LpsDeprecationWarning, match="lps_eval.prior_matching"):
        from lps_eval.mmd import mmd2 as old_mmd2
    assert old_mmd2 is mmd2
    with pytest.warns(lps_eval.LpsDeprecationWarning, match="lps_eval.metrics"):
        from lps_eval.metrics.mig import mig
    assert mig is lps_eval.metrics.mig
    assert callable(lps_eval.mmd) and lps_eval.mmd.__name__ == "mmd"  # not clobbered


def test_deprecated_flat_options_still_work_with_a_warning():
    import numpy as np

    import lps_eval

    z = np.random.default_rng(0).normal(size=(400, 3))
    new = lps_eval.score(z, metrics=["mmd"], mmd={"permutations": 20})
    with pytest.warns(lps_eval.LpsDeprecationWarning, match="mmd.permutations"):
        old = lps_eval.score(z, metrics=["mmd"], permutations=20)
    assert old.equals(new)
    with pytest.raises(lps_eval.LpsInputError, match="did you mean 'permutations'"):
        lps_eval.score(z, metrics=["mmd"], mmd={"permutation": 20})


@pytest.mark.parametrize(
    ("old", "name", "new"),
    [
        ("lps_eval.sweep", "score_many", "lps_eval.scoring.sweep"),
        ("lps_eval.sweep", "map_models", "lps_eval.schedulers"),
        ("lps_eval.sweep", "expand_inputs", "lps_eval.models"),
        ("lps_eval.comparison", "compare", "lps_eval.scoring.comparison"),
        ("lps_eval.comparison", "default_names", "lps_eval.models"),
        ("lps_eval.gate", "parse_gate", "lps_eval.scoring.gate"),
        ("lps_eval.plot", "marginals", "lps_eval.reporting.figures"),
        ("lps_eval.console", "fail", "lps_eval.cli.console"),
        ("lps_eval.cli_common", "emit", "lps_eval.cli.output"),
        ("lps_eval.cli_common", "parse_option", "lps_eval.cli.preparation"),
        ("lps_eval.cli_compare", "compare", "lps_eval.cli.compare"),
        ("lps_eval.train.cli", "train", "lps_eval.cli.train"),
    ],
)
def test_moved_in_0_3_with_a_warning_naming_the_new_home(old, name, new):
    module = importlib.import_module(old)
    with pytest.warns(LpsDeprecationWarning, match=rf"{new.replace('.', '[.]')}.*0\.4"):
        value = getattr(module, name)
    assert callable(value)


def test_renamed_names_point_at_their_new_names():
    from lps_eval.models import ModelSpec, expand_models

    with pytest.warns(LpsDeprecationWarning, match="expand_models"):
        from lps_eval.sweep import expand_inputs
    with pytest.warns(LpsDeprecationWarning, match="ModelSpec"):
        from lps_eval.sweep import ModelItem
    assert expand_inputs is expand_models and ModelItem is ModelSpec


def test_plot_attribute_of_the_package_moved_to_reporting():
    from lps_eval.reporting import figures

    with pytest.warns(LpsDeprecationWarning, match="lps_eval.reporting.figures"):
        plot = lps_eval.plot
    assert plot is figures
    with pytest.raises(AttributeError):
        lps_eval.no_such_name  # noqa: B018


def test_renamed_keywords_of_metrics_and_the_curve():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(600, 3))
    f = (z > 0).astype(int)
    new = lps_eval.metrics.mig(z, f, n_bins=10)
    with pytest.warns(LpsDeprecationWarning, match=r"num_bins.*n_bins"):
        old = lps_eval.metrics.mig(z, f, num_bins=10)
    assert old.value == new.value
    with pytest.raises(LpsInputError, match="give n_bins= only"):
        lps_eval.metrics.mig(z, f, n_bins=10, num_bins=10)
    kwargs = {"predictor": "linear", "null": False, "n_boot": 0}
    with pytest.warns(LpsDeprecationWarning, match=r"max_dims.*target_dims"):
        old_curve = lps_eval.lps_curve(z, max_dims=2, **kwargs)
    assert old_curve.equals(lps_eval.lps_curve(z, target_dims=2, **kwargs))


def test_renamed_score_options_map_to_the_new_names():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(500, 3))
    f = (z > 0).astype(int)
    new = lps_eval.score(
        z,
        factors=f,
        metrics=["mig", "mutual_info_mean"],
        **{"mig.n_bins": 10, "independence.n_bins": 10},
    )
    with pytest.warns(LpsDeprecationWarning, match="mig.num_bins is renamed mig.n_bins"):
        old = lps_eval.score(
            z,
            factors=f,
            metrics=["mig", "mutual_info_mean"],
            **{"mig.num_bins": 10, "independence.n_bins": 10},
        )
    with pytest.warns(LpsDeprecationWarning, match="independence.mi_bins is renamed"):
        lps_eval.score(z, metrics=["mutual_info_mean"], **{"independence.mi_bins": 10})
    assert old["value"].equals(new["value"])
