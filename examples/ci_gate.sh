#!/usr/bin/env bash
# A CI quality gate with lps-eval: fail the job when the latent space gets worse.
#
# Exit codes of `lps-eval score`: 0 = all thresholds passed, 1 = a threshold failed
# (the metric, its unrounded value and the threshold are printed on stderr),
# 2 = usage, input or I/O error (one line on stderr). stdout carries only the results.
#
# Run from anywhere:  bash examples/ci_gate.sh
# In a real pipeline, replace the two generated files with the latents your encoder
# wrote (.npy .npz .csv .parquet .pt) and keep the lps-eval line.
set -euo pipefail

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Two latent spaces: independent Gaussian codes (good) and codes with a nonlinear
# dependence between two dimensions (bad).
python - "$work" <<'PY'
import sys

import numpy as np

from lps_eval.simulations import gaussian_latents, nonlinear_pair

out = sys.argv[1]
np.save(f"{out}/good.npy", gaussian_latents(2000, 4, seed=0).astype(np.float32))
np.save(f"{out}/bad.npy", nonlinear_pair(2000, seed=0)[0].astype(np.float32))
PY

gate() {
  # Thresholds: LPS (held-out R2 averaged over dimensions) must stay below 0.1, and the
  # upper end of its 95% bootstrap interval below 0.15. Results go to a JSON artifact.
  lps-eval score "$1" --metrics lps --fail-if 'lps > 0.1' --fail-if 'lps.ci_high > 0.15' \
    --format json >"$2"
}

for name in good bad; do
  set +e
  gate "$work/$name.npy" "$work/$name.json"
  status=$?
  set -e
  echo "$name.npy: exit code $status"
  python -c 'import json, pathlib, sys; g = json.loads(pathlib.Path(sys.argv[1]).read_text())["gate"]; print("  passed:", g["passed"]); [print("  ", c["reason"]) for c in g["checks"]]' "$work/$name.json"
done

# A malformed expression is a usage error (exit 2), reported before any work is done.
set +e
lps-eval score "$work/good.npy" --fail-if 'lps >> 0.1' >/dev/null
echo "malformed gate: exit code $?"
set -e
