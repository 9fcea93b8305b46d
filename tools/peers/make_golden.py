"""Generate ``tests/fixtures/peer_golden.json``: the peers' own numbers on the metric worlds.

The peers are run from their own code, never copied here:

- latte (PyPI ``latte-metrics==0.0.1a6``): MIG, DMIG, XMIG, DLIG, and the scikit-learn
  k-NN mutual information they rest on;
- ``ubisoft/ubisoft-laforge-disentanglement-metrics``: Z-diff, Z-min-var, Z-max-var (they
  draw from numpy's global RNG: each is run ``REPEATS`` times, mean and sd recorded);
- ``kylehkhsu/latent_quantization`` (InfoMEC, NeurIPS 2023) and ``kylehkhsu/tripod``
  (InfoMEC with the IQR pruning rule, ICML 2024);
- ``noahcao/disentanglement_lib`` (the fork with ``med.py``: MED and top-k MED), on top of
  disentanglement-lib 1.5;
- ``andreinicolicioiu/DCI-ES`` (``metrics/explitcitness.py``: explicitness from a curve).

Run it in a throwaway environment OUTSIDE the project's (numpy < 2: the Ubisoft code
imports ``numpy.core.numeric.NaN``)::

    python -m venv /tmp/peers-venv
    /tmp/peers-venv/bin/pip install numpy==1.26.4 scipy==1.11.4 scikit-learn==1.4.2 \\
        six absl-py gin-config==0.4.0
    /tmp/peers-venv/bin/pip install --no-deps --ignore-requires-python \\
        latte-metrics==0.0.1a6 disentanglement-lib==1.5
    # checkouts of the repositories above at the commits in PEER_COMMITS, in one folder,
    # each named OWNER+REPO (e.g. /tmp/peers/ubisoft+ubisoft-laforge-disentanglement-metrics)
    /tmp/peers-venv/bin/python tools/peers/make_golden.py --src /tmp/peers

The arrays come from ``lps_eval/simulations.py`` (``metric_world``), loaded by path: it
imports only numpy, so the package itself is never imported here.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import sys
import types

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tests", "fixtures", "peer_golden.json")

#: The peer code the golden numbers were made with.
PEER_COMMITS = {
    "ubisoft/ubisoft-laforge-disentanglement-metrics": "05d5667c129bc1445c343a651d26ccd2926fdde6",
    "kylehkhsu/latent_quantization": "9a420a33505e03914f9b4fbfcafd221d25b8162f",
    "kylehkhsu/tripod": "d794dc4108dc5aaed5aebd36b8250f9dc5b671d8",
    "noahcao/disentanglement_lib": "e8db5c7e005529bdc9f73b0aa99aabb6cbbc73fb",
    "andreinicolicioiu/DCI-ES": "9329daec05ac18038e080596c5bde997d28a1aaa",
}
WORLDS = ("identity", "rotated", "mixed", "nonlinear", "nuisance", "dead", "dependent", "random")
N_TRAIN, N_TEST, SEED = 1500, 750, 0
REPEATS = 12  # runs of each stochastic Ubisoft metric (seeds 0..REPEATS-1)
#: Smaller Ubisoft Z-diff settings than its defaults, to keep the repeats affordable.
Z_DIFF_OPTIONS = {"batch_size": 200, "nb_training": 2000, "nb_eval": 1000}


def load(path: str, name: str) -> types.ModuleType:
    """The module at ``path``, imported once under ``name`` (peer code registers gin
    configurables at import, which may happen only once)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def stub(name: str, **attrs) -> None:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    sys.modules[name] = module


def quantized(z: np.ndarray) -> np.ndarray:
    """Discrete latents for InfoMEC's discrete path: each latent rounded to 5 levels."""
    return np.round(np.clip(z, -1, 1) * 2) / 2


def latte_numbers(latte, case: dict) -> dict:
    from latte.functional.disentanglement import mutual_info as lmi
    from sklearn.feature_selection import mutual_info_classif

    latte.seed(0)
    z, f = case["z"], case["factors"]
    k = f.shape[1]
    out = {
        "mi_matrix": np.stack(
            [mutual_info_classif(z, f[:, j], random_state=0) for j in range(k)], axis=1
        ).tolist(),
        "mig": lmi.mig(z, f, discrete=True).tolist(),
        # latte's own normalizers: the k-NN MI of each factor with itself and with the others
        "factor_entropy": [float(lmi._entropy(f[:, i], True)) for i in range(k)],
        "factor_mi": [
            [float(lmi._single_mutual_info(f[:, i], f[:, j], True)) for j in range(k)]
            for i in range(k)
        ],
    }
    if z.shape[1] >= k:
        out["dmig"] = lmi.dmig(z, f, discrete=True).tolist()
        out["dlig"] = lmi.dlig(z, f, discrete=True).tolist()
    if z.shape[1] > k:
        out["xmig"] = lmi.xmig(z, f, discrete=True).tolist()
    return out


def ubisoft_numbers(src: str, case: dict) -> dict:
    folder = os.path.join(src, "ubisoft+ubisoft-laforge-disentanglement-metrics", "src")
    stub("matplotlib")
    stub("matplotlib.pyplot")
    stub("dateutil")
    stub("dateutil.relativedelta", relativedelta=None)
    stub("pyitlib")
    stub("pyitlib.discrete_random_variable")
    sys.path.insert(0, folder)
    mods = {
        name: load(os.path.join(folder, "metrics", f"{name}.py"), f"ubisoft_{name}")
        for name in ("z_diff", "z_min_var", "z_max_var")
    }
    sys.path.remove(folder)
    z, f = case["z"], case["factors"]
    out = {}
    for name, module in mods.items():
        fn = getattr(module, name)
        for continuous in (False, True):
            values = []
            for r in range(REPEATS):
                np.random.seed(r)  # noqa: NPY002 (the reference draws from the global RNG)
                random.seed(r)
                opts = Z_DIFF_OPTIONS if name == "z_diff" else {}
                values.append(float(fn(factors=f, codes=z, continuous_factors=continuous, **opts)))
            key = name + ("_binned" if continuous else "")
            out[key] = {
                "mean": float(np.nanmean(values)),
                "sd": float(np.nanstd(values)),
                "values": values,
            }
    return out


def infomec_numbers(src: str, case: dict) -> dict:
    stub("ipdb")
    nips = load(
        os.path.join(src, "kylehkhsu+latent_quantization", "disentangle", "metrics", "infomec.py"),
        "infomec_nips2023",
    )
    tripod = load(
        os.path.join(src, "kylehkhsu+tripod", "disentangle", "metrics", "infomec.py"),
        "infomec_tripod",
    )
    out = {}
    for label, module in (("range", nips), ("iqr", tripod)):
        for kind, latents in (("continuous", case["z"]), ("discrete", quantized(case["z"]))):
            np.random.seed(0)  # noqa: NPY002 (the reference's k-NN MI noise: global RNG)
            res = module.compute_infomec(case["factors"], latents, kind == "discrete")
            out[f"{label}_{kind}"] = {
                key: float(res[key]) for key in ("infom", "infoe", "infoc")
            } | {"nmi": np.asarray(res["nmi"]).tolist()}
    return out


def med_numbers(src: str, case: dict) -> dict:
    import gin

    sys.modules["gin.tf"] = gin
    gin.tf = gin
    if "tensorflow" not in sys.modules:
        stub("tensorflow")
    module = load(
        os.path.join(
            src,
            "noahcao+disentanglement_lib",
            "disentanglement_lib",
            "evaluation",
            "metrics",
            "med.py",
        ),
        "med_fork",
    )
    gin.clear_config()  # the discretizer is registered by the import above
    gin.parse_config(
        ["discretizer.discretizer_fn = @histogram_discretizer", "discretizer.num_bins = 20"]
    )
    out = {}
    for topk in (1, 2):
        res = module._compute_med(
            case["z"].T, case["factors"].T, case["z_test"].T, case["factors_test"].T, topk
        )
        out[f"top{topk}"] = {
            "med": float(res["disentanglement"]),
            "med_topk": float(res[f"top{topk}_disentanglement"]),
            "completeness": float(res["completeness"]),
        }
    return out


def dci_es_numbers(src: str) -> list[dict]:
    """The official explicitness of seeded synthetic loss-capacity curves."""
    module = load(
        os.path.join(src, "andreinicolicioiu+DCI-ES", "metrics", "explitcitness.py"),
        "dci_es_explicitness",
    )
    rng = np.random.default_rng(0)
    curves = []
    for i in range(8):
        x = np.log(np.cumsum(rng.integers(5, 500, size=rng.integers(3, 9))) + 10.0)
        baseline = float(rng.choice([1.0, 5 / 6, 2 / 3]))
        y = np.clip(
            baseline * np.exp(-rng.uniform(0, 3) * np.arange(x.size))
            + rng.normal(0, 0.05, size=x.size),
            0,
            None,
        )
        exp = module.Explitcitness()
        exp.add_curve(x, y.copy(), baseline, name=f"curve_{i}")
        e = exp.get_explitcitness()[f"curve_{i}"]
        curves.append(
            {
                "capacity": x.tolist(),
                "loss": y.tolist(),
                "baseline": baseline,
                "explicitness": float(e),
            }
        )
    return curves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", required=True, help="folder with the peers' checkouts")
    args = parser.parse_args()

    import latte
    import scipy
    import sklearn

    sim = load(os.path.join(ROOT, "lps_eval", "simulations.py"), "lps_eval_simulations")
    golden = {
        "about": "peer numbers on lps_eval.simulations.metric_world; tools/peers/make_golden.py",
        "versions": {
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "sklearn": sklearn.__version__,
            "latte": "0.0.1a6",
            "disentanglement_lib": "1.5",
        },
        "commits": PEER_COMMITS,
        "settings": {
            "n_train": N_TRAIN,
            "n_test": N_TEST,
            "seed": SEED,
            "repeats": REPEATS,
            "z_diff": Z_DIFF_OPTIONS,
        },
        "cases": {},
        "dci_es_curves": dci_es_numbers(args.src),
    }
    for world in WORLDS:
        case = sim.metric_world(world, N_TRAIN, N_TEST, seed=SEED)
        entry = {"checksum": sim.checksum(case)}
        entry["latte"] = latte_numbers(latte, case)
        entry["ubisoft"] = ubisoft_numbers(args.src, case)
        entry["infomec"] = infomec_numbers(args.src, case)
        entry["med"] = med_numbers(args.src, case)
        golden["cases"][world] = entry
        print(world, "done", flush=True)
    with open(OUT, "w") as fh:
        json.dump(golden, fh, indent=1)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
