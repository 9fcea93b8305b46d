"""Small files in each official format, written by the tests (never committed binaries).

Each writer follows the publisher's format specification (see lps_eval/data/formats.py):
the loaders are tested on bytes laid out exactly as the real files are, at a size that
fits a test.
"""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import tarfile
import zipfile
from pathlib import Path

import numpy as np


class RunsCode:
    """Unpickling this object creates ``marker``: proof that a file was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def write_npz(path: Path, arrays: dict[str, object], *, compress: bool) -> Path:
    """An ``.npz`` written member by member; a non-array value is stored as a pickle."""
    mode = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=mode) as zf:
        for name, value in arrays.items():
            buf = io.BytesIO()
            if isinstance(value, np.ndarray):
                np.lib.format.write_array(buf, value, allow_pickle=False)
            else:  # what np.savez does with an object: a pickled 0-d object array
                arr = np.empty((), dtype=object)
                arr[()] = value
                np.lib.format.write_array(buf, arr, allow_pickle=True)
            zf.writestr(f"{name}.npy", buf.getvalue())
    return path


def dsprites_npz(path: Path, sizes=(1, 3, 2, 2, 4, 4), marker: Path | None = None) -> Path:
    """A dSprites-format npz: imgs (n, 64, 64) 0/1, latents_classes, latents_values, and a
    ``metadata`` member that runs code if unpickled."""
    classes = np.stack(np.unravel_index(np.arange(int(np.prod(sizes))), sizes), 1)
    rng = np.random.default_rng(0)
    imgs = (rng.random((classes.shape[0], 64, 64)) < 0.2).astype(np.uint8)
    arrays = {
        "imgs": imgs,
        "latents_classes": classes.astype(np.int64),
        "latents_values": classes.astype(np.float64),
        "metadata": RunsCode(marker or path.with_suffix(".ran")),
    }
    return write_npz(path, arrays, compress=True)


def norb_file(path: Path, array: np.ndarray, *, gz: bool = False) -> Path:
    """An NYU binary matrix: int32 magic, int32 ndim, max(3, ndim) int32 dims, data."""
    magic = {np.uint8: 0x1E3D4C55, np.int32: 0x1E3D4C54}[array.dtype.type]
    dims = list(array.shape) + [1] * max(0, 3 - array.ndim)
    raw = (
        struct.pack(f"<ii{len(dims)}i", magic, array.ndim, *dims)
        + array.astype(array.dtype.newbyteorder("<")).tobytes()
    )
    if gz:
        raw = gzip.compress(raw)
    path.write_bytes(raw)
    return path


def smallnorb_files(folder: Path, *, size: int = 8, gz: bool = True) -> dict[str, Path]:
    """The six SmallNORB files, the grid split by instance as published (small images).

    The left image of cell (category, instance, elevation, azimuth, lighting) is constant
    = the cell's grid index modulo 251, so a test can check where each image landed.
    """
    grid = (5, 10, 9, 18, 6)
    codes = np.stack(np.unravel_index(np.arange(int(np.prod(grid))), grid), 1)
    paths = {}
    for split, instances in (("training", (4, 6, 7, 8, 9)), ("testing", (0, 1, 2, 3, 5))):
        rows = codes[np.isin(codes[:, 1], instances)]
        rows = rows[
            np.random.default_rng(1).permutation(rows.shape[0])
        ]  # file order is not grid order
        cell = np.ravel_multi_index(tuple(rows.T), grid)
        dat = np.zeros((rows.shape[0], 2, size, size), dtype=np.uint8)
        dat[:, 0] = (cell % 251)[:, None, None]
        dat[:, 1] = 7
        info = np.column_stack([rows[:, 1], rows[:, 2], rows[:, 3] * 2, rows[:, 4]]).astype(
            np.int32
        )
        tag = "46789" if split == "training" else "01235"
        for kind, arr in (("dat", dat), ("cat", rows[:, 0].astype(np.int32)), ("info", info)):
            name = f"smallnorb-5x{tag}x9x18x6x2x96x96-{split}-{kind}.mat"
            target = folder / (name + (".gz" if gz else ""))
            paths[target.name] = norb_file(target, arr, gz=gz)
    return paths


def cars_tarball(path: Path, n_cars: int = 2, size: int = 8) -> Path:
    """``nips2015-analogy-data.tar.gz`` with ``data/cars/*.mat`` holding ``im`` arrays of
    (size, size, 3, 24 azimuths, 4 elevations); pixel value = 10 * elevation + azimuth +
    100 * car (within uint8)."""
    from scipy.io import savemat

    with tarfile.open(path, "w:gz") as tar:
        for car in range(n_cars):
            e = np.arange(4)[None, None, None, None, :]
            a = np.arange(24)[None, None, None, :, None]
            im = np.broadcast_to((10 * e + a + 100 * car) % 256, (size, size, 3, 24, 4))
            buf = io.BytesIO()
            savemat(buf, {"im": np.ascontiguousarray(im, dtype=np.uint8)})
            info = tarfile.TarInfo(f"data/cars/car_{car:03d}_mesh.mat")
            info.size = len(buf.getvalue())
            tar.addfile(info, io.BytesIO(buf.getvalue()))
    return path


def idx_file(path: Path, array: np.ndarray) -> Path:
    """An IDX file (gzip when the name ends with .gz): 0, 0, type, ndim, big-endian dims."""
    code = {np.uint8: 0x08, np.int32: 0x0C}[array.dtype.type]
    raw = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw += array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
    return path


def cifar_tarball(path: Path, per_batch: int = 3) -> Path:
    """``cifar-10-binary.tar.gz``: six batches of <1 label byte><3072 pixel bytes> records;
    image pixels = label * 20 + channel."""
    with tarfile.open(path, "w:gz") as tar:
        names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
        for b, name in enumerate(names):
            labels = (np.arange(per_batch) + b) % 10
            pix = labels[:, None, None] * 20 + np.arange(3)[None, :, None]
            records = np.concatenate(
                [
                    labels[:, None],
                    np.broadcast_to(pix, (per_batch, 3, 1024)).reshape(per_batch, -1),
                ],
                1,
            ).astype(np.uint8)
            data = records.tobytes()
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def tiny_imagenet_zip(path: Path, wnids=("n01", "n02"), per_class: int = 2) -> Path:
    """``tiny-imagenet-200.zip`` with wnids.txt, train/<wnid>/images/*.JPEG (one greyscale),
    val/images and val_annotations.txt."""
    from PIL import Image

    def jpeg(value: int, mode: str = "RGB") -> bytes:
        buf = io.BytesIO()
        Image.new(mode, (64, 64), value if mode == "L" else (value, value, value)).save(buf, "JPEG")
        return buf.getvalue()

    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("tiny-imagenet-200/wnids.txt", "\n".join(wnids) + "\n")
        for c, w in enumerate(wnids):
            for i in range(per_class):
                mode = "L" if i == 0 else "RGB"
                zf.writestr(
                    f"tiny-imagenet-200/train/{w}/images/{w}_{i}.JPEG", jpeg(40 * c + 10, mode)
                )
        zf.writestr("tiny-imagenet-200/val/images/val_0.JPEG", jpeg(200))
        zf.writestr(
            "tiny-imagenet-200/val/val_annotations.txt", f"val_0.JPEG\t{wnids[1]}\t0\t0\t64\t64\n"
        )
    return path


def pickle_bytes(obj: object) -> bytes:
    return pickle.dumps(obj)
