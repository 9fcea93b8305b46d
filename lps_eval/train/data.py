"""Training data for the reference trainer; nothing is downloaded.

Three sources, one small interface (:class:`ImageSource`):

* :class:`ProceduralDSprites`: 64x64 binary images of a square, an ellipse and a heart
  over the dSprites factor grid (shape 3, scale 6, orientation 40, x 32, y 32 = 737,280
  images), rendered on demand from the factor indices, so memory stays small and every
  image is a pure function of its index.
* :class:`ArrayImages`: any in-memory image array, (N, H, W) or (N, C, H, W); used for
  scikit-learn's bundled 8x8 digits (:func:`digits`) and user ``.npy`` files
  (:func:`from_file`).

Every source returns float32 images in [0, 1] with shape (n, C, H, W).

References
----------
Matthey, Higgins, Hassabis, Lerchner (2017), "dSprites: Disentanglement testing Sprites
dataset", github.com/deepmind/dsprites-dataset: the factor grid reproduced here (the
shapes are re-drawn procedurally, so images differ from the original PNG sprites).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lps_eval._validation import LpsInputError

__all__ = [
    "DSPRITES_FACTOR_NAMES",
    "DSPRITES_FACTOR_SIZES",
    "ArrayImages",
    "ImageSource",
    "ProceduralDSprites",
    "digits",
    "from_file",
    "make_source",
    "render_dsprites",
]

#: Factor names of dSprites, in column order of ``factors``.
DSPRITES_FACTOR_NAMES = ("shape", "scale", "orientation", "pos_x", "pos_y")
#: Number of values per factor (the original grid; colour is constant and omitted).
DSPRITES_FACTOR_SIZES = (3, 6, 40, 32, 32)

# Geometry of the 64x64 canvas: a unit-scale shape has a half-size of 10 px; centres run
# over [12, 51] px so that even the largest shape stays almost entirely inside the image.
_CANVAS = 64
_HALF_SIZE_PX = 10.0
_POS_LOW, _POS_HIGH = 12.0, 51.0


@dataclass(frozen=True)
class ImageSource:
    """A finite, indexable set of images with optional ground-truth factors.

    Subclasses implement :meth:`images` (and :meth:`factors` when factors exist).
    """

    name: str
    n_images: int
    image_shape: tuple[int, int, int]  # (C, H, W)
    factor_names: tuple[str, ...] | None = None

    def images(self, index: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Images at integer ``index``, float32 in [0, 1], shape (len(index), C, H, W)."""
        raise NotImplementedError

    def factors(self, index: np.ndarray) -> np.ndarray | None:
        """Ground-truth factors at ``index`` (n, n_factors), or None."""
        return None

    def sample_index(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` indices drawn uniformly with replacement (training batches)."""
        return rng.integers(0, self.n_images, size=n)

    def eval_index(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """A fixed evaluation set: ``n`` distinct indices (all images if fewer exist)."""
        if n >= self.n_images:
            return np.arange(self.n_images)
        return np.sort(rng.choice(self.n_images, size=n, replace=False))


def _inside(shape: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inside test of one shape in its own frame (u, v in units of the half-size).

    square: max(|u|, |v|) <= 0.8; ellipse: u^2 + (v / 0.5)^2 <= 1 (axis ratio 2:1);
    heart: (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0 with x = u / 0.85, y = 0.1 - v / 0.85 (the
    classic algebraic heart curve, its point towards +v before rotation).
    """
    if shape == 0:
        return np.maximum(np.abs(u), np.abs(v)) <= 0.8
    if shape == 1:
        return u * u + 4.0 * v * v <= 1.0
    x, y = u / 0.85, 0.1 - v / 0.85
    x2 = x * x
    r = x2 + y * y - 1.0
    return r * r * r <= x2 * y * y * y


def render_dsprites(factor_index: np.ndarray) -> np.ndarray:
    """Render dSprites images from integer factor indices, vectorized over the batch.

    Parameters
    ----------
    factor_index : ndarray of int, shape (n, 5)
        Columns shape (0..2), scale (0..5), orientation (0..39), pos_x (0..31),
        pos_y (0..31), as in :data:`DSPRITES_FACTOR_NAMES`.

    Returns
    -------
    ndarray of float32, shape (n, 1, 64, 64)
        Binary images. Scale s = 0.5 + 0.1 * scale_index (0.5 .. 1.0), angle
        theta = 2 pi * orientation_index / 40, centre = 12 + 39 * pos_index / 31 px.
        A pixel centre p is inside when the inverse-rotated, scaled offset
        R(-theta) (p - c) / (10 s) satisfies the shape's inside test.
    """
    idx = np.asarray(factor_index, dtype=np.int64)
    out = np.zeros((idx.shape[0], 1, _CANVAS, _CANVAS), dtype=np.float32)
    grid = np.arange(_CANVAS, dtype=np.float64) + 0.5
    for shape in range(3):  # three vectorized groups, one per shape
        rows = np.flatnonzero(idx[:, 0] == shape)
        if rows.size == 0:
            continue
        sub = idx[rows]
        size = _HALF_SIZE_PX * (0.5 + 0.1 * sub[:, 1])
        theta = 2.0 * np.pi * sub[:, 2] / 40.0
        cx = _POS_LOW + (_POS_HIGH - _POS_LOW) * sub[:, 3] / 31.0
        cy = _POS_LOW + (_POS_HIGH - _POS_LOW) * sub[:, 4] / 31.0
        # offsets scaled by 1/size, then rotated by -theta; float32 keeps it fast
        dx = ((grid[None, :] - cx[:, None]) / size[:, None]).astype(np.float32)
        dy = ((grid[None, :] - cy[:, None]) / size[:, None]).astype(np.float32)
        cos = np.cos(theta).astype(np.float32)[:, None, None]
        sin = np.sin(theta).astype(np.float32)[:, None, None]
        u = cos * dx[:, None, :] + sin * dy[:, :, None]
        v = cos * dy[:, :, None] - sin * dx[:, None, :]
        out[rows, 0] = _inside(shape, u, v)
    return out


@dataclass(frozen=True)
class ProceduralDSprites(ImageSource):
    """The dSprites factor grid rendered procedurally (lazy: images made per request)."""

    name: str = "dsprites"
    n_images: int = int(np.prod(DSPRITES_FACTOR_SIZES))
    image_shape: tuple[int, int, int] = (1, _CANVAS, _CANVAS)
    factor_names: tuple[str, ...] | None = DSPRITES_FACTOR_NAMES

    def _unravel(self, index: np.ndarray) -> np.ndarray:
        index = np.asarray(index, dtype=np.int64)
        return np.stack(np.unravel_index(index, DSPRITES_FACTOR_SIZES), axis=1)

    def images(self, index: np.ndarray) -> np.ndarray:
        return render_dsprites(self._unravel(index))

    def factors(self, index: np.ndarray) -> np.ndarray:
        """Integer factor indices (n, 5) in the order of :data:`DSPRITES_FACTOR_NAMES`."""
        return self._unravel(index)


@dataclass(frozen=True)
class ArrayImages(ImageSource):
    """Images held in memory as float32 (N, C, H, W) in [0, 1]."""

    data: np.ndarray = field(default_factory=lambda: np.zeros((0, 1, 1, 1), np.float32))
    labels: np.ndarray | None = None

    def images(self, index: np.ndarray) -> np.ndarray:
        return self.data[np.asarray(index, dtype=np.int64)]


def _as_images(arr: np.ndarray, *, name: str) -> np.ndarray:
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
    data = _as_images(np.asarray(arr), name=name)
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


def make_source(dataset: str | np.ndarray | ImageSource) -> ImageSource:
    """Resolve ``"dsprites"``, ``"digits"``, a path to ``.npy`` images, or an array."""
    if isinstance(dataset, ImageSource):
        return dataset
    if isinstance(dataset, np.ndarray):
        return from_array(dataset)
    if not isinstance(dataset, (str, Path)):
        raise LpsInputError(
            f"dataset must be 'dsprites', 'digits', a .npy path or an array, got {dataset!r}"
        )
    key = str(dataset)
    if key.lower() == "dsprites":
        return ProceduralDSprites()
    if key.lower() == "digits":
        return digits()
    if Path(key).suffix.lower() in (".npy", ".npz", ".pt", ".pth"):
        return from_file(key)
    raise LpsInputError(
        f"unknown dataset {key!r}; use 'dsprites', 'digits' or a path to a .npy image array"
    )
