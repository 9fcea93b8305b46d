"""Named latents from a pandas CSV: the index column is dropped, the names are kept.

``df.to_csv(path)`` writes the DataFrame index as an unnamed first column. lps-eval
recognises it (unnamed, or exactly 0..n-1), drops it with a warning and keeps the column
names as ``dim_name`` in the results table. Run: ``python examples/names_and_index_column.py``.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import lps_eval
from lps_eval.io import load_table

rng = np.random.default_rng(0)
x = rng.normal(size=2000)
frame = pd.DataFrame(
    {"pose": x, "light": np.sin(2 * x) + 0.3 * rng.normal(size=2000), "hue": rng.normal(size=2000)}
)

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "latents.csv"
    frame.to_csv(path)  # index written as an unnamed first column
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        z, names = load_table(path)
    print("warning:", caught[0].message)
    print("columns kept:", names, "shape:", z.shape)

table = lps_eval.score(frame, metrics=["lps", "mmd"], predictor="linear", mmd={"permutations": 100})
per_dim = table[(table["scope"] == "dim") & table["source_dim"].isna()]
print(per_dim[["metric", "dim", "dim_name", "value", "p_value"]].to_string(index=False))
