"""dSprites rendered procedurally: the factor grid of the original, nothing downloaded.

64x64 binary images of a square, an ellipse and a heart over the dSprites factor grid
(shape 3, scale 6, orientation 40, x 32, y 32 = 737,280 images), rendered on demand from
the factor indices, so memory stays small and every image is a pure function of its
index. The official file is read by :func:`lps_eval.data.official.dsprites`.

References
----------
Matthey, Higgins, Hassabis, Lerchner (2017), "dSprites: Disentanglement testing Sprites
dataset", github.com/deepmind/dsprites-dataset: the factor grid reproduced here (the
shapes are re-drawn procedurally, so images differ from the original PNG sprites).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lps_eval.data.base import FactorDataset, FactorGrid

__all__ = [
    "DSPRITES_FACTOR_NAMES",
    "DSPRITES_FACTOR_SIZES",
    "ProceduralDSprites",
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
class ProceduralDSprites(FactorDataset):
    """The dSprites factor grid rendered procedurally (lazy: images made per request)."""

    name: str = "dsprites"
    n_images: int = int(np.prod(DSPRITES_FACTOR_SIZES))
    image_shape: tuple[int, int, int] = (1, _CANVAS, _CANVAS)
    factor_names: tuple[str, ...] | None = DSPRITES_FACTOR_NAMES
    grid: FactorGrid = field(
        default_factory=lambda: FactorGrid(DSPRITES_FACTOR_NAMES, DSPRITES_FACTOR_SIZES)
    )

    def _unravel(self, index: np.ndarray) -> np.ndarray:
        index = np.asarray(index, dtype=np.int64)
        return np.stack(np.unravel_index(index, DSPRITES_FACTOR_SIZES), axis=1)

    def images(self, index: np.ndarray) -> np.ndarray:
        return render_dsprites(self._unravel(index))

    def factors(self, index: np.ndarray) -> np.ndarray:
        """Integer factor indices (n, 5) in the order of :data:`DSPRITES_FACTOR_NAMES`."""
        return self._unravel(index)
