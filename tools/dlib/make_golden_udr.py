"""Generate ``dlib_golden_udr.json``: disentanglement_lib's UDR, downstream and fairness numbers.

Run it in the throwaway environment of ``make_golden.py`` (numpy, scipy, scikit-learn,
gin-config 0.4.0, absl-py and ``disentanglement-lib==1.5 --no-deps``; no TensorFlow)::

    /tmp/dlib-venv/bin/python tools/dlib/make_golden_udr.py --udr-source PATH/udr.py

UDR is not in the PyPI wheel of disentanglement_lib 1.5: its module
``disentanglement_lib/evaluation/udr/metrics/udr.py`` lives only in the GitHub repository
(google-research/disentanglement_lib, commit a64b8b9). Pass the path of that file from a
checkout (``--udr-source``, or the ``DLIB_UDR_SOURCE`` variable); it is loaded by path with
``gin.tf`` stubbed, exactly like the metric modules in ``make_golden.py``. Nothing of it is
copied into this repository. Without it the UDR section is skipped.

Cases come from ``lps_eval.simulations`` (loaded by path; numpy only), so the tests rebuild
the very same arrays and check a checksum first:

- UDR: :func:`udr_models` worlds; a fake dataset hands out row indices in order, and each
  representation function returns its model's rows and its KL vector, so
  ``compute_udr_sklearn`` sees exactly the given codes (``num_data_points`` = every row).
- Downstream: ``compute_downstream_task`` on a fake dataset that hands out rows in order:
  for each training size ``n`` the first ``n`` training rows, then the first ``num_test``
  test rows. That is what ``downstream(..., sample="prefix")`` uses. The latent columns are
  put in the canonical order lps_eval's probes use (``np.lexsort`` of the first 64 rows).
- Fairness: ``inter_group_fairness`` and ``compute_scores_dict`` on fixed count matrices
  (exact), and ``compute_fairness`` end to end on a product-grid dataset (a sampling
  estimate: compared within sampling error).

numpy's global RNG is seeded before every call (GradientBoostingClassifier is unseeded in
disentanglement_lib; its only randomness is the order in which it tries features, which
breaks ties between exactly equal split gains).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time

import make_golden as mg  # (this folder; stubs gin.tf, binds the study defaults)
import numpy as np
import scipy
import sklearn
from disentanglement_lib.evaluation.metrics import downstream_task, fairness, utils

dc = mg.load_simulations()

UDR_CONFIGS = [
    (corr, filt, thr)
    for corr in ("lasso", "spearman")
    for filt, thr in ((True, 0.01), (False, 0.01), (True, 0.05))
]
#: (case, probe, training sizes): LogisticRegressionCV is quick, GBT is not.
DOWNSTREAM_CASES = (
    ("identity_noisy", "logistic", (10, 100, 1000)),
    ("rotation", "logistic", (10, 100, 1000)),
    ("nuisance", "logistic", (10, 100)),
    ("identity_noisy", "gbt", (10, 100)),
    ("entanglement", "gbt", (10, 100)),
)
PROBES = {
    "logistic": utils.logistic_regression_cv,
    "gbt": utils.gradient_boosting_classifier,
}


def load_udr(path: str):
    spec = importlib.util.spec_from_file_location("dlib_udr", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class RowIndexData:
    """Fake ground-truth data whose observations are row indices, handed out in order."""

    def __init__(self):
        self.i = 0

    def sample_observations(self, n, random_state):
        del random_state
        rows = np.arange(self.i, self.i + n)
        self.i += n
        return rows


def udr_golden(udr) -> dict:
    out = {}
    for case in dc.UDR_CASES:
        zs, kls = dc.udr_models(case)
        entry = {"checksum": float(sum(np.abs(z).sum() for z in zs) + sum(k.sum() for k in kls))}
        fns = [lambda rows, z=z, kl=kl: (z[rows], kl) for z, kl in zip(zs, kls, strict=True)]
        for corr, filt, thr in UDR_CONFIGS:
            np.random.seed(0)
            res = udr.compute_udr_sklearn(
                RowIndexData(),
                fns,
                np.random.RandomState(0),
                batch_size=10,
                num_data_points=zs[0].shape[0],
                correlation_matrix=corr,
                filter_low_kl=filt,
                include_raw_correlations=True,
                kl_filter_threshold=thr,
            )
            key = f"{corr}:filter={filt}:threshold={thr}"
            entry[key] = {
                "model_scores": [float(v) for v in res["model_scores"]],
                "pairwise": np.asarray(res["pairwise_disentanglement_scores"])[..., 0].tolist(),
            }
            if filt and thr == 0.01 and case in ("aligned", "dead_latent", "mixed"):
                entry[key]["raw_correlations"] = res["raw_correlations"]
        out[case] = entry
    return out


class StreamData:
    """Fake ground-truth data handing out the rows of one stream in order."""

    def __init__(self, z, factors):
        self.z, self.factors, self.i = z, factors, 0

    def sample(self, n, random_state):
        del random_state
        rows = slice(self.i, self.i + n)
        self.i += n
        return self.factors[rows], self.z[rows]


def downstream_golden() -> dict:
    out = {}
    for case, probe, sizes in DOWNSTREAM_CASES:
        a = dc.factor_case(case)
        n_test = a["z_test"].shape[0]
        # the canonical column order lps_eval's probes use (lexicographic in the first 64
        # rows), so that GBT's tie-breaking by feature position sees the same features
        cols = np.lexsort(a["z"][:64][::-1])
        a = {**a, "z": a["z"][:, cols], "z_test": a["z_test"][:, cols]}
        z = np.concatenate([part for n in sizes for part in (a["z"][:n], a["z_test"])])
        f = np.concatenate([p for n in sizes for p in (a["factors"][:n], a["factors_test"])])
        mg.gin.clear_config()
        mg.gin.bind_parameter("predictor.predictor_fn", PROBES[probe])
        np.random.seed(0)
        t0 = time.perf_counter()
        res = downstream_task.compute_downstream_task(
            StreamData(z, f),
            mg.identity,
            np.random.RandomState(0),
            num_train=list(sizes),
            num_test=n_test,
            batch_size=16,
        )
        key = f"{case}:{probe}"
        out[key] = {
            "checksum": dc.checksum(a),
            "sizes": list(sizes),
            "num_test": n_test,
            "seconds": time.perf_counter() - t0,
            "scores": {k: float(v) for k, v in res.items()},
        }
        print(f"downstream {key}: {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return out


def fairness_golden() -> dict:
    rng = np.random.default_rng(11)
    counts = [rng.integers(0, 40, size=shape) for shape in ((4, 5), (5, 6), (6, 4), (3, 3))]
    counts[3][:, 0] = [100, 0, 0]  # a sensitive value whose predictions are all one class
    matrix = rng.uniform(0, 1, size=(4, 4))
    np.fill_diagonal(matrix, 0.0)
    out = {
        "counts": [c.tolist() for c in counts],
        "inter_group_fairness": [
            [float(v) for v in fairness.inter_group_fairness(c)] for c in counts
        ],
        "matrix": matrix.tolist(),
        "scores_dict": {
            k: float(v) for k, v in fairness.compute_scores_dict(matrix, "mean_fairness").items()
        },
    }
    cases = {}
    for case in ("identity_noisy", "entanglement"):
        mg.gin.clear_config()
        mg.gin.bind_parameter("predictor.predictor_fn", utils.gradient_boosting_classifier)
        seed = 4000 + dc.FACTOR_CASES.index(case)
        data = mg.GridData(case, seed)
        data.factors_num_values = list(dc.FACTOR_CASE_SIZES)
        np.random.seed(0)
        res = fairness.compute_fairness(
            data,
            mg.identity,
            np.random.RandomState(seed),
            num_train=2000,
            num_test_points_per_class=100,
            batch_size=16,
        )
        cases[case] = {k: float(v) for k, v in res.items()}
        print(f"fairness {case} done", file=sys.stderr)
    out["cases"] = cases
    out["settings"] = {"num_train": 2000, "num_test_points_per_class": 100, "probe": "gbt"}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--udr-source", default=os.environ.get("DLIB_UDR_SOURCE"))
    parser.add_argument("--only", nargs="*", default=["udr", "downstream", "fairness"])
    args = parser.parse_args()
    path = os.path.join(mg.ROOT, "tests", "fixtures", "dlib_golden_udr.json")
    golden = {}
    if os.path.exists(path):
        with open(path) as fh:
            golden = json.load(fh)
    golden["generator"] = "tools/dlib/make_golden_udr.py"
    golden["versions"] = {
        "disentanglement_lib": "1.5 (udr.py: GitHub commit a64b8b9)",
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
    }
    if "udr" in args.only:
        if not args.udr_source:
            print("no --udr-source: UDR section skipped", file=sys.stderr)
        else:
            golden["udr"] = udr_golden(load_udr(args.udr_source))
    if "downstream" in args.only:
        golden["downstream"] = downstream_golden()
    if "fairness" in args.only:
        golden["fairness"] = fairness_golden()
    with open(path, "w") as fh:
        json.dump(golden, fh, indent=1, sort_keys=True)
        fh.write("\n")
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
