"""Peak memory of encoding a whole big dataset: 3D Shapes (5.9 GB) and MPI3D real (12.7 GB).

The issue's bound: reading and encoding either keeps peak RSS under 1.5 GB. No download
is possible here, so each file is written in its official format at its official size
(``3dshapes.h5``: ``images`` 480,000 x 64 x 64 x 3 uint8 and ``labels`` 480,000 x 6 in
the published factor order; ``mpi3d_real.npz``: one stored ``images`` member of
1,036,800 x 64 x 64 x 3 uint8, zip64), chunk by chunk, with synthetic pixels (the loader
and the encoder do not look at what the pixels show). Then, in fresh processes:

1. ``lps_eval.train.fit`` trains a small conv encoder for a few steps on the file (its
   weights only matter as a real encoder to run);
2. ``lps-eval evaluate RUN --dataset NAME --data-dir DIR --metrics lps --predictor
   linear`` encodes every image and scores the codes, under ``/usr/bin/time -v``: its
   "Maximum resident set size" is the peak (the kernel's maximum resident set, file pages
   mapped into the process included).

Usage::

    python benchmarks/bench_dataset_memory.py [--datasets shapes3d,mpi3d_real] [--dir /tmp]

Writes benchmarks/results/dataset_memory.csv (dataset, images, file size, peak RSS,
seconds, codes' shape, versions). Needs h5py and torch (``pip install -e ".[all]"``) and
about 19 GB of free disk; each file is deleted afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parents[1]
CHUNK = 8192
BUDGET_MIB = 1.5e9 / 2**20  # the 1.5 GB, in the MiB that time -v's KiB give
SHAPES3D_SIZES = (10, 10, 10, 8, 4, 15)
MPI3D_REAL_SIZES = (6, 6, 2, 3, 3, 40, 40)


def _pixels(codes: np.ndarray, sizes: tuple[int, ...]) -> np.ndarray:
    """(n, 64, 64, 3) uint8 images that vary with the factor codes (a colour from the
    first three factors, a bar whose position follows the last): cheap, not constant."""
    n = codes.shape[0]
    frac = codes / np.maximum(np.array(sizes) - 1, 1)
    colour = (255 * frac[:, :3]).astype(np.uint8)
    img = np.empty((n, 64, 64, 3), dtype=np.uint8)
    img[:] = colour[:, None, None, :]
    bar = (frac[:, -1] * 56).astype(np.int64)
    cols = np.arange(64)
    mask = (cols[None, :] >= bar[:, None]) & (cols[None, :] < bar[:, None] + 8)
    img[:, :, :, 0][np.broadcast_to(mask[:, None, :], (n, 64, 64))] = 255
    return img


def _codes(sizes: tuple[int, ...], start: int, stop: int) -> np.ndarray:
    """Factor codes of grid cells ``start..stop`` in C order (the files' row order)."""
    return np.stack(np.unravel_index(np.arange(start, stop), sizes), axis=1)


def write_shapes3d(path: Path) -> None:
    """``3dshapes.h5`` at full size: contiguous ``images`` and the published ``labels``."""
    import h5py

    sizes = SHAPES3D_SIZES
    n = int(np.prod(sizes))
    values = [
        np.linspace(0, 0.9, 10),  # floor, wall, object hue
        np.linspace(0, 0.9, 10),
        np.linspace(0, 0.9, 10),
        np.linspace(0.75, 1.25, 8),  # scale
        np.arange(4.0),  # shape
        np.linspace(-30, 30, 15),  # orientation
    ]
    partial = path.with_suffix(".partial")
    with h5py.File(partial, "w") as fh:
        images = fh.create_dataset("images", shape=(n, 64, 64, 3), dtype=np.uint8)
        labels = fh.create_dataset("labels", shape=(n, 6), dtype=np.float64)
        for start in range(0, n, CHUNK):
            stop = min(n, start + CHUNK)
            codes = _codes(sizes, start, stop)
            images[start:stop] = _pixels(codes, sizes)
            labels[start:stop] = np.stack([values[j][codes[:, j]] for j in range(6)], axis=1)
    partial.rename(path)


def write_mpi3d_real(path: Path) -> None:
    """``mpi3d_real.npz`` at full size: one stored (uncompressed) zip64 ``images`` member."""
    sizes = MPI3D_REAL_SIZES
    n = int(np.prod(sizes))
    partial = path.with_suffix(".partial")
    with (
        zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive,
        archive.open("images.npy", "w", force_zip64=True) as member,
    ):
        np.lib.format.write_array_header_1_0(
            member, {"descr": "|u1", "fortran_order": False, "shape": (n, 64, 64, 3)}
        )
        for start in range(0, n, CHUNK):
            stop = min(n, start + CHUNK)
            member.write(_pixels(_codes(sizes, start, stop), sizes).tobytes())
    partial.rename(path)


WRITERS = {
    "shapes3d": ("3dshapes.h5", write_shapes3d),
    "mpi3d_real": ("mpi3d_real.npz", write_mpi3d_real),
}


def _run(command: list[str]) -> tuple[float, float, str, str, int]:
    """(peak RSS in MiB, seconds, stdout, stderr, exit code) of a fresh process, the peak as
    ``/usr/bin/time -v`` reports it (the kernel's maximum resident set, mapped file pages
    included: what users' tools count)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "2"}
    t0 = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-v", *command], capture_output=True, text=True, env=env
    )
    seconds = time.perf_counter() - t0
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    peak_mib = int(found.group(1)) / 1024 if found else float("nan")
    return peak_mib, seconds, proc.stdout, proc.stderr, proc.returncode


def train_encoder(name: str, data_dir: Path, run_dir: Path) -> None:
    code = (
        "from lps_eval.train import fit; "
        f"fit(dataset={name!r}, data_dir={str(data_dir)!r}, objective='ae', steps=20, "
        "latent_dim=6, batch_size=32, width=8, hidden=32, eval_size=500, eval_subset=200, "
        f"eval_every=0, num_threads=2, progress=False, out={str(run_dir)!r})"
    )
    peak, seconds, _, err, rc = _run([sys.executable, "-c", code])
    if rc != 0:
        raise SystemExit(f"training the encoder on {name} failed:\n{err}")
    print(f"   encoder trained in {seconds:.0f} s (peak {peak:.0f} MiB)", flush=True)


def measure(name: str, data_dir: Path, run_dir: Path) -> dict:
    command = [
        sys.executable, "-m", "lps_eval.cli", "evaluate", str(run_dir), "--dataset", name,
        "--data-dir", str(data_dir), "--metrics", "lps", "--predictor", "linear",
        "--format", "json", "--no-config", "--no-progress",
    ]  # fmt: skip
    peak, seconds, out, err, rc = _run(command)
    if rc != 0:
        raise SystemExit(f"lps-eval evaluate on {name} failed (exit {rc}):\n{err}")
    table = json.loads(out)
    rows = table["results"]
    lps = next(r["value"] for r in rows if r["metric"] == "lps" and r["scope"] == "overall")
    n_samples, n_dims = table["settings"]["n_samples"], table["settings"]["n_dims"]
    return {"peak_rss_mib": round(peak, 1), "seconds": round(seconds, 1), "lps": lps,
            "n_samples": n_samples, "n_dims": n_dims, "command": " ".join(command[1:])}  # fmt: skip


def _versions() -> str:
    import h5py
    import torch

    import lps_eval

    return json.dumps({"lps_eval": lps_eval.__version__, "numpy": np.__version__,
                       "torch": torch.__version__, "h5py": h5py.__version__,
                       "python": platform.python_version()})  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="shapes3d,mpi3d_real")
    parser.add_argument("--dir", default="/tmp", help="where the big files are written")
    parser.add_argument("--keep", action="store_true", help="keep the files for a rerun")
    args = parser.parse_args()
    names = [s.strip() for s in args.datasets.split(",") if s.strip()]
    unknown = sorted(set(names) - set(WRITERS))
    if unknown:
        parser.error(f"unknown datasets {unknown}; known: {sorted(WRITERS)}")
    records = []
    for name in names:
        filename, writer = WRITERS[name]
        data_dir = Path(args.dir) / f"lps-eval-bench-{name}"
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / filename
        if not path.exists():
            need = 13.5e9 if name == "mpi3d_real" else 6.2e9
            if shutil.disk_usage(data_dir).free < need:
                raise SystemExit(f"{data_dir}: needs {need / 1e9:.1f} GB free for {filename}")
            print(f"== writing {path}", flush=True)
            t0 = time.perf_counter()
            writer(path)
            print(f"   {path.stat().st_size / 1e9:.2f} GB in {time.perf_counter() - t0:.0f} s")
        run_dir = data_dir / "run"
        shutil.rmtree(run_dir, ignore_errors=True)
        train_encoder(name, data_dir, run_dir)
        print(f"== lps-eval evaluate on all of {name}", flush=True)
        record = {"dataset": name, "file_gb": round(path.stat().st_size / 1e9, 2)}
        record.update(measure(name, data_dir, run_dir))
        record.update(budget_mib=BUDGET_MIB, within_budget=record["peak_rss_mib"] < BUDGET_MIB,
                      cpu_count=os.cpu_count(), date=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                      versions=_versions())  # fmt: skip
        print(f"   peak RSS {record['peak_rss_mib']:.0f} MiB in {record['seconds']:.0f} s "
              f"(budget {BUDGET_MIB:.0f} MiB)", flush=True)  # fmt: skip
        records.append(record)
        if not args.keep:
            shutil.rmtree(data_dir)
    import pandas as pd

    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "dataset_memory.csv"
    old = pd.read_csv(out) if out.exists() else None
    new = pd.DataFrame(records)
    if old is not None:
        new = pd.concat([old[~old.dataset.isin(new.dataset)], new], ignore_index=True)
    new.to_csv(out, index=False)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
