"""Generate ``dlib_golden_options.json``: disentanglement_lib 1.5's MIG under its two
discretizers, the peer numbers of ``lps_eval.metrics.mig(discretizer=...)``.

Run it in the same throwaway environment as ``make_golden.py`` (never in the project's)::

    /tmp/dlib-venv/bin/python tools/dlib/make_golden_options.py

``discretizer="histogram"`` is disentanglement_lib's ``histogram_discretizer`` with 20 bins;
``discretizer="identity"`` binds ``discretizer.discretizer_fn`` to the identity function,
exactly as disentanglement_lib's own ``mig_test.py`` does (``_identity_discretizer``: the
codes as given). The arrays are ``lps_eval.simulations.integer_codes_world`` (integer
latents with more distinct values than 20 bins, where the two disagree) and the
``identity`` factor case (integer latents equal to the factors, where they agree).
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from make_golden import SequentialData, dc, gin, identity, mig, scipy, sklearn  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "fixtures")


def _identity_discretizer(target, num_bins):
    del num_bins
    return target


def _mig(z: np.ndarray, f: np.ndarray, discretizer: str) -> float:
    gin.clear_config()
    gin.bind_parameter("discretizer.num_bins", 20)
    if discretizer == "identity":
        gin.bind_parameter("discretizer.discretizer_fn", _identity_discretizer)
    else:
        gin.parse_config(["discretizer.discretizer_fn = @histogram_discretizer"])
    data = SequentialData(z, f)
    res = mig.compute_mig(data, identity, np.random.RandomState(0), num_train=len(z))
    return float(res["discrete_mig"])


def main() -> None:
    cases = {
        "integer_codes": dc.integer_codes_world(),
        "identity": {k: dc.factor_case("identity")[k] for k in ("z", "factors")},
    }
    out = {
        "generator": "tools/dlib/make_golden_options.py",
        "versions": {
            "disentanglement_lib": "1.5",
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "sklearn": sklearn.__version__,
        },
        "cases": {},
    }
    for name, a in cases.items():
        out["cases"][name] = {
            "checksum": dc.checksum(a),
            "mig_histogram": _mig(a["z"], a["factors"], "histogram"),
            "mig_identity": _mig(a["z"], a["factors"], "identity"),
        }
    path = os.path.join(OUT, "dlib_golden_options.json")
    with open(path, "w") as fh:
        json.dump(out, fh, indent=2)
        fh.write("\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
