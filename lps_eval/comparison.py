r"""Compare several latent spaces: one tidy table, differences with intervals, a summary.

:func:`compare` scores every model with :func:`lps_eval.score` and appends *difference
rows* against a baseline model for the headline metrics (``lps``, ``lps_linear``,
``mmd``): ``scope="difference"``, ``model="B - A"``, the difference of the two values,
a bootstrap percentile interval and a two-sided bootstrap p-value.

Pairing. When every model has the same number of rows (they encode the same inputs row
for row, e.g. the trainer's shared evaluation set), the comparison is **paired**: all
models are fitted on one shared train/test split, and the bootstrap resamples the same
held-out rows for every model, so the between-input variance cancels from the
difference. Otherwise each model keeps its own split and resamples (**unpaired**). The
``pairing`` column says which.

For a difference :math:`\Delta = T_B - T_A` and bootstrap replicates :math:`\Delta_b`:

- interval: percentiles of :math:`\Delta + (\Delta_b - \bar\Delta)` where :math:`\bar\Delta`
  is the difference on the bootstrapped rows themselves (basic percentile on the
  deviations; for LPS :math:`\bar\Delta = \Delta` exactly);
- p-value: :math:`p = (1 + \#\{|\Delta_b - \bar\Delta| \ge |\bar\Delta|\}) / (1 + B)`
  (the replicates centred on the null of no difference; never exactly 0).

LPS replicates resample held-out rows with fixed predictions (as :func:`lps_eval.lps`
does for its own interval). MMD replicates resample the latent rows of the statistic
with the kernel and prior sample fixed: with counts :math:`w` of a resample of ``m``
rows, :math:`\widehat{\mathrm{MMD}}^2_b = (w^\top K w - m k_0) / (m(m-1)) + S_{yy}
- 2 w^\top c / m`, where :math:`K` is the latent kernel matrix and :math:`c_i` the mean
kernel value of row ``i`` against the prior sample (one matrix product for all
resamples).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lps_eval._validation import LpsInputError, check_latents
from lps_eval.predictability import SINGLE_SPLIT_TEST_SIZE, LpsResult, bootstrap_r2
from lps_eval.prior_matching import Kernel, parse_prior
from lps_eval.results import jsonable, library_versions, tidy_frame
from lps_eval.scoring import namespace_defaults, score
from lps_eval.scoring.namespaces import resolve_options

__all__ = [
    "DIFFERENCE_METRICS",
    "HEADLINE_METRICS",
    "ModelInput",
    "compare",
    "default_names",
    "format_summary",
    "load_model_input",
    "load_models",
    "summarize",
]

#: Metrics that get difference rows against the baseline.
DIFFERENCE_METRICS = ("lps", "lps_linear", "mmd")

#: Summary columns and whether lower (-1) or higher (+1) is better (0: no ranking).
HEADLINE_METRICS: dict[str, int] = {
    "lps": -1,
    "lps_linear": -1,
    "lps_null": 0,
    "lps_nonlinear_gap": 0,
    "lps_converged": 0,
    "mmd": -1,
    "mmd_independence": -1,
    "gaussian_tc": -1,
    "mig": 1,
    "sap": 1,
    "dci_disentanglement": 1,
    "dci_completeness": 1,
    "dci_informativeness": 1,
    "beta_vae": 1,
    "factor_vae": 1,
    "modularity": 1,
    "explicitness": 1,
    "irs": 1,
    "mig_sup": 1,
    "dcimig": 1,
    "jemmig": 1,
}

#: Rows of the MMD bootstrap kernel matrix (m x m float64: 72 MB at 3000).
MMD_BOOT_ROWS = 3000


@dataclass(frozen=True)
class ModelInput:
    """One model to compare: its latents and whatever its source says about it."""

    name: str
    z: np.ndarray
    factors: np.ndarray | None = None
    factor_names: list[str] | None = None
    prior: Any = None
    source: str | None = None
    run_dir: Path | None = None


def load_model_input(name: str, spec: Any) -> ModelInput:
    """Resolve one model spec: an array, an array file, or a trainer run directory.

    A run directory (``lps-eval train --out DIR``) contributes ``latents.npz`` (``z``,
    and ``factors`` / ``factor_names`` when present) and the prior from ``config.json``.
    An ``.npz`` file holding ``z`` (such as the trainer's ``latents.npz``) is read the same
    way; any other file must hold one array.
    """
    from lps_eval.io import load_array

    if isinstance(spec, ModelInput):
        return spec
    if isinstance(spec, (str, Path)):
        path = Path(spec)
        if path.is_dir():
            return _load_run_dir(name, path)
        if path.suffix.lower() == ".npz" and path.is_file():
            arrays = _npz_arrays(path)
            if "z" in arrays:
                return _from_latents_npz(name, path, arrays, run_dir=_run_dir_of(path))
        return ModelInput(name, load_array(path), source=str(path))
    return ModelInput(name, check_latents(spec), source=type(spec).__name__)


def _npz_arrays(path: Path) -> dict[str, np.ndarray]:
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as archive:
            return {k: archive[k] for k in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise LpsInputError(f"could not read {path} as .npz: {exc}") from None


def _run_dir_of(path: Path) -> Path | None:
    return path.parent if (path.parent / "config.json").is_file() else None


def _from_latents_npz(
    name: str, path: Path, arrays: dict[str, np.ndarray], run_dir: Path | None
) -> ModelInput:
    factors = arrays.get("factors")
    names = arrays.get("factor_names")
    prior = None
    if run_dir is not None:
        prior = _read_json(run_dir / "config.json").get("prior")
    return ModelInput(
        name,
        arrays["z"],
        factors=None if factors is None or factors.size == 0 else factors,
        factor_names=None if names is None else [str(v) for v in names],
        prior=prior,
        source=str(path),
        run_dir=run_dir,
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise LpsInputError(f"could not read {path}: {exc}") from None


def _load_run_dir(name: str, path: Path) -> ModelInput:
    latents = path / "latents.npz"
    if not latents.is_file():
        raise LpsInputError(
            f"{path} is a directory without latents.npz; pass an array file or a run "
            "directory written by `lps-eval train`"
        )
    arrays = _npz_arrays(latents)
    if "z" not in arrays:
        raise LpsInputError(f"{latents} has no array 'z'; available: {', '.join(arrays)}")
    return _from_latents_npz(name, latents, arrays, run_dir=path)


def load_models(models: Any) -> list[ModelInput]:
    """Resolve ``compare``'s ``models`` argument into :class:`ModelInput` objects."""
    if isinstance(models, Mapping):
        items = [(str(k), v) for k, v in models.items()]
    elif isinstance(models, (list, tuple)):
        items = list(zip(default_names(list(models)), models, strict=True))
    else:
        raise LpsInputError(
            "models must be a dict {name: latents | file | run directory} or a list of them"
        )
    if not items:
        raise LpsInputError("compare needs at least one model")
    names = [n for n, _ in items]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise LpsInputError(f"model names must be unique; repeated: {', '.join(duplicates)}")
    return [load_model_input(n, v) for n, v in items]


def _default_name(spec: Any, index: int) -> str:
    if isinstance(spec, (str, Path)):
        path = Path(spec)
        return path.parent.name if path.name == "latents.npz" else path.stem or path.name
    return f"model{index}"


def default_names(paths: Sequence[Any]) -> list[str]:
    """Short unique names: file stem, the folder of a latents.npz, else ``model<i>``.

    Falls back to the full paths when the short names collide.
    """
    names = [_default_name(p, i) for i, p in enumerate(paths)]
    if len(set(names)) < len(names):
        names = [str(p) if isinstance(p, (str, Path)) else f"model{i}" for i, p in enumerate(paths)]
    return names


def compare(
    models: Mapping[str, Any] | Sequence[Any],
    *,
    prior: Any = None,
    factors: Any = None,
    factor_names: Sequence[str] | None = None,
    baseline: str | None = None,
    seed: int = 0,
    metrics: Sequence[str] | str | None = None,
    pairing: str = "auto",
    n_boot: int = 200,
    confidence: float = 0.95,
    mmd_boot_rows: int = MMD_BOOT_ROWS,
    progress: bool = False,
    **options: Any,
) -> pd.DataFrame:
    """Score several latent spaces and the differences of each against a baseline.

    Parameters
    ----------
    models : dict or list
        Name -> latents (array-like), an array file, or a trainer run directory
        (``latents.npz`` with ``z`` and ``factors``; its prior from ``config.json``). A list
        is named after the files (or ``model0, model1, ...``).
    prior : str or object, optional
        Prior for every model. None: each model's own prior (from its run directory),
        else ``"gaussian"``.
    factors : array-like, optional
        Ground-truth factors shared by every model (overrides factors of run directories).
    factor_names : sequence of str, optional
        Names of the shared factors' columns.
    baseline : str, optional
        Model the differences are taken against (default: the first).
    seed : int, default 0
        Seeds every split, bootstrap and permutation (the same for every model).
    metrics : str or sequence, optional
        As in :func:`lps_eval.score`.
    pairing : {"auto", "paired", "unpaired"}, default "auto"
        ``auto``: paired when all models have the same number of rows. ``paired`` refuses
        models of different sizes.
    n_boot : int, default 200
        Bootstrap resamples of every interval (also of each model's own intervals).
    confidence : float, default 0.95
    mmd_boot_rows : int, default 3000
        Rows of the MMD difference bootstrap (an ``m x m`` kernel matrix per model).
    progress : bool, default False
    **options
        Passed to :func:`lps_eval.score` (``predictor=``, ``test_size=``, ...).

    Returns
    -------
    pandas.DataFrame
        The tidy table of :func:`lps_eval.score` with a leading ``model`` column for
        every model's rows, then the difference rows (``scope="difference"``,
        ``model="B - A"``) and a ``pairing`` column (``paired`` / ``unpaired``; ``none``
        for a single model, whose rows then equal :func:`lps_eval.score`'s exactly).
        In paired mode the LPS rows come from the shared split, so they can differ from
        a separate :func:`lps_eval.score` run by split noise (within the intervals).
        ``attrs`` holds each model's settings, the comparison settings and versions.

    Examples
    --------
    >>> import numpy as np, lps_eval
    >>> rng = np.random.default_rng(1)
    >>> a = rng.normal(size=(600, 3))
    >>> b = np.column_stack([a[:, 0], a[:, 0] + 0.3 * a[:, 1], a[:, 2]])
    >>> t = lps_eval.compare({"a": a, "b": b}, metrics=["lps"], predictor="linear", n_boot=50)
    >>> d = t.query("scope == 'difference' and metric == 'lps'")
    >>> bool(d.ci_low.iloc[0] > 0)
    True
    """
    inputs = load_models(models)
    names = [m.name for m in inputs]
    base = names[0] if baseline is None else str(baseline)
    if base not in names:
        raise LpsInputError(f"baseline {base!r} is not a model; models: {', '.join(names)}")
    if pairing not in ("auto", "paired", "unpaired"):
        raise LpsInputError(f"pairing must be 'auto', 'paired' or 'unpaired', got {pairing!r}")
    # options in their namespaces (flat 0.1 names still accepted, with a warning)
    resolved = resolve_options(options, namespace_defaults())
    lps_opts = resolved["lps"]
    if lps_opts["split"] is not None:
        raise LpsInputError("compare chooses the LPS split itself; do not pass lps.split")
    lps_opts["n_boot"], lps_opts["confidence"] = n_boot, confidence
    sizes = {m.z.shape[0] for m in inputs}
    paired = len(sizes) == 1 if pairing == "auto" else pairing == "paired"
    if len(inputs) == 1:  # nothing to pair with: score exactly as lps_eval.score does
        paired = False
    if paired and len(sizes) > 1:
        raise LpsInputError(
            f"pairing='paired' needs the same number of rows in every model, got {sorted(sizes)}"
        )
    shared_factors = None
    if factors is not None:
        shared_factors = np.asarray(factors)
    rng = np.random.default_rng([int(seed), 0x636D70])
    if paired:
        lps_opts["split"] = _shared_splits(
            inputs[0].z.shape[0],
            # paired differences need one shared single split (cross-fitting refits per model)
            test_size=lps_opts["test_size"] or SINGLE_SPLIT_TEST_SIZE,
            cap=lps_opts["max_samples"],
            rng=rng,
        )

    frames, kept, settings = [], {}, {}
    from tqdm.auto import tqdm

    for model in tqdm(inputs, desc="models", disable=not progress, leave=False):
        held: dict[str, LpsResult] = {}

        def keep(result: Any, held: dict[str, LpsResult] = held) -> None:
            if isinstance(result, LpsResult):
                held[result.metric] = result

        model_prior = prior if prior is not None else (model.prior or "gaussian")
        fac = shared_factors if shared_factors is not None else model.factors
        names_f = factor_names if shared_factors is not None else model.factor_names
        table = score(
            model.z,
            prior=model_prior,
            factors=fac,
            factor_names=names_f,
            metrics=metrics,
            seed=seed,
            progress=False,
            on_result=keep,
            **resolved,
        )
        table.insert(0, "model", model.name)
        frames.append(table)
        kept[model.name] = (model, held, table, model_prior)
        settings[model.name] = {
            **{k: v for k, v in table.attrs.items() if k != "versions"},
            "source": model.source,
        }

    diffs = _differences(
        kept,
        base,
        paired=paired,
        n_boot=n_boot,
        confidence=confidence,
        seed=seed,
        mmd_rows=mmd_boot_rows,
    )
    rows = [r for f in frames for r in f.to_dict("records")] + diffs
    out = tidy_frame(rows)
    out.insert(0, "model", out.pop("model"))
    label = "none" if len(inputs) == 1 else ("paired" if paired else "unpaired")
    out["pairing"] = label
    out.attrs = {
        "models": names,
        "baseline": base,
        "pairing": label,
        "seed": seed,
        "n_boot": n_boot,
        "confidence": confidence,
        "difference_interval": "bootstrap percentile of the deviations; p two-sided, centred",
        "mmd_boot_rows": mmd_boot_rows,
        "settings": jsonable(settings),
        "versions": library_versions(),
    }
    return out


def _shared_splits(n: int, *, test_size: float, cap: int | None, rng: np.random.Generator):
    """One train/test split for the nonlinear fit (capped rows) and one for the linear fit."""
    test_size = float(test_size)
    if not 0.0 < test_size < 1.0:
        raise LpsInputError(f"test_size must lie in (0, 1), got {test_size!r}")

    def split(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n_test = int(round(test_size * rows.size))
        return np.sort(rows[n_test:]), np.sort(rows[:n_test])

    perm = rng.permutation(n)
    capped = perm if cap is None else perm[: min(n, int(cap))]
    return {"lps": split(capped), "lps_linear": split(rng.permutation(n))}


def _differences(kept, base, *, paired, n_boot, confidence, seed, mmd_rows) -> list[dict]:
    if n_boot < 1 or len(kept) < 2:
        return []
    rows = []
    for metric in DIFFERENCE_METRICS:
        values = {name: _overall(entry[2], metric) for name, entry in kept.items()}
        if any(v is None for v in values.values()):
            continue
        boots = {}
        for index, (name, entry) in enumerate(kept.items()):
            stream = [int(seed), 0x626F6F, 0 if paired else index]
            if metric == "mmd":
                boots[name] = _mmd_replicates(entry, n_boot, stream, mmd_rows, paired)
            else:
                boots[name] = _lps_replicates(entry[1].get(metric), n_boot, stream)
        for name in kept:
            if name == base:
                continue
            delta = values[name] - values[base]
            row = {
                "model": f"{name} - {base}",
                "metric": metric,
                "scope": "difference",
                "value": delta,
                "ci_low": math.nan,
                "ci_high": math.nan,
                "p_value": math.nan,
            }
            b_new, b_base = boots[name], boots[base]
            if b_new is not None and b_base is not None:
                (sub_new, rep_new), (sub_base, rep_base) = b_new, b_base
                centre = sub_new - sub_base
                dev = (rep_new - rep_base) - centre
                dev = dev[np.isfinite(dev)]
                if dev.size:
                    alpha = (1.0 - confidence) / 2.0
                    lo, hi = np.quantile(dev, [alpha, 1.0 - alpha])
                    row["ci_low"], row["ci_high"] = delta + lo, delta + hi
                    exceed = np.count_nonzero(np.abs(dev) >= abs(centre))
                    row["p_value"] = (1.0 + exceed) / (1.0 + dev.size)
            rows.append(row)
    return rows


def _overall(table: pd.DataFrame, metric: str) -> float | None:
    hit = table[(table["scope"] == "overall") & (table["metric"] == metric)]
    return None if hit.empty else float(hit["value"].iloc[0])


def _lps_replicates(result: LpsResult | None, n_boot: int, stream: list[int]):
    """(LPS on the held-out rows, LPS of every bootstrap resample of them)."""
    if result is None or result.heldout is None:
        return None
    _, y, pred = result.heldout
    boot = bootstrap_r2(y, pred, n_boot=n_boot, rng=np.random.default_rng(stream))
    with np.errstate(all="ignore"):
        reps = np.nanmean(boot, axis=1)
    return float(result.value), reps


def _mmd_replicates(entry, n_boot: int, stream: list[int], max_rows: int, paired: bool):
    """(MMD^2 on m rows, MMD^2 of every bootstrap resample of those rows); see module doc."""
    model, _, table, model_prior = entry
    settings = table.attrs.get("settings", {}).get("mmd")
    if not settings or settings.get("kernel_family") is None:
        return None
    z = np.asarray(model.z, dtype=np.float64)
    n, d = z.shape
    rng = np.random.default_rng([*stream[:2], 1])  # the same rows for every model if paired
    m = min(n, int(max_rows))
    rows = np.sort(rng.choice(n, size=m, replace=False)) if m < n else np.arange(n)
    x = z[rows]
    prior_rng = np.random.default_rng([int(stream[0]), 0x707269])
    y = parse_prior(model_prior, n_dims=d).sample(m, d, prior_rng)
    kern = Kernel(
        name=settings["kernel"],
        family=settings["kernel_family"],
        scales=tuple(settings.get("kernel_scales") or ()),
        base=float(settings.get("bandwidth") or math.nan),
    )
    centre = np.vstack([x, y]).mean(axis=0)  # as the MMD engine does (shift-invariant kernels)
    x, y = x - centre, y - centre
    k0 = kern.diag_value
    cross = np.zeros(m)
    for start in range(0, m, 1024):
        cross[start : start + 1024] = np.asarray(kern(x[start : start + 1024], y)).mean(axis=1)
    kyy = np.asarray(kern(y, y))
    s_yy = (kyy.sum() - m * k0) / (m * (m - 1))
    del kyy
    kxx = np.asarray(kern(x, x))
    draws = np.random.default_rng(stream).integers(0, m, size=(n_boot, m))
    flat = (draws + m * np.arange(n_boot)[:, None]).ravel()
    counts = np.bincount(flat, minlength=n_boot * m).reshape(n_boot, m).astype(np.float64)
    quad = np.einsum("bi,bi->b", counts @ kxx, counts)
    reps = (quad - m * k0) / (m * (m - 1)) + s_yy - 2.0 * (counts @ cross) / m
    ones = np.ones(m)
    sub = (ones @ kxx @ ones - m * k0) / (m * (m - 1)) + s_yy - 2.0 * cross.mean()
    return float(sub), reps


# --------------------------------------------------------------------------- summary


def summarize(table: pd.DataFrame, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per model, one column per headline metric (the overall values).

    Parameters
    ----------
    table : DataFrame
        Output of :func:`compare` (or one :func:`lps_eval.score` table).
    metrics : sequence of str, optional
        Columns to show (default: the headline metrics present, see
        :data:`HEADLINE_METRICS`).

    Returns
    -------
    DataFrame
        Index ``model``; ``attrs["best"]`` maps each ranked metric to the best model
        (lowest LPS / MMD, highest supervised score).
    """
    frame = table if "model" in table.columns else table.assign(model="model")
    overall = frame[(frame["scope"] == "overall") & frame["model"].notna()]
    wide = overall.pivot_table(index="model", columns="metric", values="value", aggfunc="first")
    order = list(dict.fromkeys(frame.loc[frame["scope"] != "difference", "model"]))
    wide = wide.reindex([m for m in order if m in wide.index])
    if metrics is None:
        metrics = [m for m in HEADLINE_METRICS if m in wide.columns]
    missing = [m for m in metrics if m not in wide.columns]
    if missing:
        raise LpsInputError(f"summary metric(s) {missing} not in the table")
    wide = wide[list(metrics)]
    wide.columns.name = None
    best = {}
    for metric in wide.columns:
        direction = HEADLINE_METRICS.get(metric, 0)
        column = wide[metric]
        if direction and column.notna().any() and len(column) > 1:
            best[metric] = column.idxmin() if direction < 0 else column.idxmax()
    wide.attrs = {"best": best, "direction": {m: HEADLINE_METRICS.get(m, 0) for m in wide}}
    return wide


def format_summary(summary: pd.DataFrame, fmt: str = "markdown", *, digits: int = 3) -> str:
    """The summary as a markdown or LaTeX table, the best value of each column in bold."""
    if fmt not in ("markdown", "latex"):
        raise LpsInputError(f"summary format must be 'markdown' or 'latex', got {fmt!r}")
    best = summary.attrs.get("best", {})
    direction = summary.attrs.get("direction", {})

    def cell(model: str, metric: str) -> str:
        value = summary.at[model, metric]
        text = "" if pd.isna(value) else f"{value:.{digits}f}"
        winner = best.get(metric)
        if text and winner is not None and text == f"{summary.at[winner, metric]:.{digits}f}":
            # ties at the printed precision are all marked
            return f"**{text}**" if fmt == "markdown" else rf"\textbf{{{text}}}"
        return text

    def head(metric: str) -> str:
        arrow = {-1: " ↓", 1: " ↑"}.get(direction.get(metric, 0), "")
        if fmt == "latex":
            arrow = {-1: r" $\downarrow$", 1: r" $\uparrow$"}.get(direction.get(metric, 0), "")
            metric = metric.replace("_", r"\_")
        return metric + arrow

    metrics = list(summary.columns)
    if fmt == "markdown":
        lines = [
            "| model | " + " | ".join(head(m) for m in metrics) + " |",
            "| --- |" + " ---: |" * len(metrics),
        ]
        lines += [
            f"| {model} | " + " | ".join(cell(model, m) for m in metrics) + " |"
            for model in summary.index
        ]
        return "\n".join(lines)
    lines = [
        r"\begin{tabular}{l" + "r" * len(metrics) + "}",
        r"\toprule",
        "model & " + " & ".join(head(m) for m in metrics) + r" \\",
        r"\midrule",
    ]
    for model in summary.index:
        label = str(model).replace("_", r"\_")
        lines.append(label + " & " + " & ".join(cell(model, m) for m in metrics) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines)
