"""Images held in memory: user arrays and files, scikit-learn's bundled digits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lps_eval._validation import LpsInputError
from lps_eval.data.base import ImageSource

__all__ = ["ArrayImages", "as_images", "digits", "from_array", "from_file", "load_images"]


@dataclass(frozen=True)
class ArrayImages(ImageSource):
    """Images held in memory as float32 (N, C, H, W) in [0, 1]."""

    data: np.ndarray = field(default_factory=lambda: np.zeros((0, 1, 1, 1), np.float32))
    labels: np.ndarray | None = None

    def images(self, index: np.ndarray) -> np.ndarray:
        return self.data[np.asarray(index, dtype=np.int64)]


def as_images(arr: np.ndarray, *, name: str) -> np.ndarray:
    """Validate an image array and bring it to float32 (N, C, H, W) in [0, 1].

    Integer arrays are divided by 255 (or by 1 for boolean); float arrays must already lie
    in [0, 1] (the decoder's sigmoid output cannot represent anything else).
    """
    if arr.dtype.kind not in "biuf":
        raise LpsInputError(f"{name} has dtype {arr.dtype}; pass numeric images")
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4:
        raise LpsInputError(
            f"{name} has shape {arr.shape}; pass images as (N, H, W) or (N, C, H, W)"
        )
    if arr.shape[0] < 2 or min(arr.shape[2:]) < 4:
        raise LpsInputError(
            f"{name} has shape {arr.shape}; need at least 2 images of at least 4x4 pixels"
        )
    if arr.dtype.kind == "b":
        out = arr.astype(np.float32)
    elif arr.dtype.kind in "iu":
        if arr.min() < 0 or arr.max() > 255:
            raise LpsInputError(
                f"{name} has integer values outside 0..255; rescale to [0, 1] floats first"
            )
        out = arr.astype(np.float32) / 255.0
    else:
        out = arr.astype(np.float32)
        if not np.isfinite(out).all():
            raise LpsInputError(f"{name} contains NaN or inf; drop those images")
        if out.min() < 0.0 or out.max() > 1.0:
            raise LpsInputError(
                f"{name} has float values in [{out.min():.3g}, {out.max():.3g}]; rescale to "
                "[0, 1], e.g. (x - x.min()) / (x.max() - x.min())"
            )
    return np.ascontiguousarray(out)


def digits() -> ArrayImages:
    """scikit-learn's bundled 8x8 handwritten digits (1797 images, values 0..16 -> [0, 1]).

    No generative factors exist; the class labels are kept in ``labels`` (not used as
    factors).
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    data = (bunch.images.astype(np.float32) / 16.0)[:, None]
    return ArrayImages(
        name="digits",
        n_images=data.shape[0],
        image_shape=tuple(data.shape[1:]),
        data=data,
        labels=bunch.target.astype(np.int64),
    )


def from_array(arr: np.ndarray, *, name: str = "images") -> ArrayImages:
    """Wrap a user image array (N, H, W) or (N, C, H, W) as a training source."""
    data = as_images(np.asarray(arr), name=name)
    return ArrayImages(
        name=name, n_images=data.shape[0], image_shape=tuple(data.shape[1:]), data=data
    )


def load_images(path: str | Path, *, key: str | None = None) -> np.ndarray:
    """Read an image array from ``.npy``, ``.npz`` (``key`` names the array) or ``.pt``.

    Uses :func:`lps_eval.io.load_array`, which never unpickles.
    """
    from lps_eval.io import load_array

    return np.asarray(load_array(Path(path), key=key))


def from_file(path: str | Path, *, key: str | None = None) -> ArrayImages:
    """A user ``.npy`` image file as a training source (see :func:`from_array`)."""
    return from_array(load_images(path, key=key), name=Path(path).stem)
