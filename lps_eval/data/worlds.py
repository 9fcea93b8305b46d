"""The paper's synthetic worlds ``xy``, ``xyc`` and ``xycs``: one shape on a dark canvas.

Fruytier et al. (arXiv 2510.11953, Tables 8-10) evaluate on images of a circle that
varies in position (XY, d = 2), plus colour intensity (XYC, d = 3), plus shape (XYCS,
d = 4), after Cha & Thiyagalingam, "Orthogonality-Enforced Latent Space in
Autoencoders", ICML 2023. The images are re-drawn here procedurally (no file is read);
every image is a pure function of its factor codes.

Geometry (one canvas of 32 x 32 pixels, pixel ``(row, col)`` centred at
``(row + 0.5, col + 0.5)``):

* centre ``x`` (column) and ``y`` (row): 32 values each, evenly spaced over
  ``[7.75, 24.25]`` px, i.e. 0.532 px apart, so that neighbouring positions differ by
  a sub-pixel shift;
* colour intensity: 8 values ``0.3, 0.4, ..., 1.0`` (grey level of the shape);
* shape: circle (radius 5 px), square (half-side 4.5 px), equilateral triangle
  (circumradius 6.25 px, apex up); the centre range keeps every shape, with its
  anti-aliased edge, off the outermost pixel ring.

Anti-aliasing: a pixel's value is ``c * clip(0.5 - s(p), 0, 1)``, where ``s`` is the
signed distance (in pixels) from the pixel centre ``p`` to the shape's outline (negative
inside). That is a one-pixel linear ramp across the edge, a close approximation to the
area of the pixel the shape covers, and it makes each image a continuous, piecewise-linear
function of the position and intensity: a sub-pixel move of the centre changes the
pixels, which a binary rasterization would not. Square and triangle use the polygon
distance ``max_i(n_i . (p - c)) - a`` (``a`` the inradius), exact inside and along the
edges.

Grid sizes, and why: 32 x 32 positions give 1,024 ``xy`` images, 8,192 ``xyc`` and 24,576
``xycs`` images: every factor has at least 3 values, enough rows per value for the
interventional metrics (BetaVAE, FactorVAE, IRS draw with replacement), 32 position
values are finer than MIG's 20 latent bins, and the whole grid is encoded in seconds. The
32 x 32 canvas keeps a plain CPU autoencoder fast (the 4-stage encoder of 64 x 64 inputs
costs 4x the compute) while the shape still covers about 8% of the image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lps_eval._validation import LpsInputError
from lps_eval.data.base import FactorDataset, FactorGrid

__all__ = [
    "CANVAS",
    "INTENSITIES",
    "POSITIONS",
    "SHAPES",
    "WORLDS",
    "SyntheticWorld",
    "render_world",
    "world",
]

#: Side of the square canvas, in pixels.
CANVAS = 32
#: Circle radius (px); the other shapes are sized relative to it.
RADIUS = 5.0
#: Half-extent of the largest shape (the triangle's circumradius), which sets the margin.
_EXTENT = 1.25 * RADIUS
#: Centre positions in pixels (x and y share them).
POSITIONS = np.linspace(_EXTENT + 1.5, CANVAS - _EXTENT - 1.5, 32)
#: Grey levels of the shape.
INTENSITIES = np.round(np.linspace(0.3, 1.0, 8), 10)
#: Shapes of ``xycs``, in code order.
SHAPES = ("circle", "square", "triangle")

#: The worlds: name -> factor names (the grid's columns, in order).
WORLDS = {
    "xy": ("x", "y"),
    "xyc": ("x", "y", "color"),
    "xycs": ("x", "y", "color", "shape"),
}

_VALUES = {"x": POSITIONS, "y": POSITIONS, "color": INTENSITIES, "shape": np.arange(3)}


def _polygon_distance(dx: np.ndarray, dy: np.ndarray, normals: np.ndarray, inradius: float):
    """Signed distance ``max_i (n_i . d) - a`` of a convex regular polygon."""
    out = None
    for nx, ny in normals:
        d = dx * np.float32(nx) + dy * np.float32(ny)
        out = d if out is None else np.maximum(out, d, out=out)
    return out - np.float32(inradius)


_SQUARE_NORMALS = np.array([(1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0)])
# outward normals of an apex-up equilateral triangle in image coordinates (y grows down)
_TRIANGLE_NORMALS = np.array([(np.cos(a), -np.sin(a)) for a in np.deg2rad([-90.0, 30.0, 150.0])])
_CHUNK = 2048


def _distance(code: int, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Signed distance (px) to the outline of shape ``code`` at offsets ``dx``, ``dy``."""
    if code == 0:
        return np.sqrt(dx * dx + dy * dy) - np.float32(RADIUS)
    if code == 1:
        return _polygon_distance(dx, dy, _SQUARE_NORMALS, 0.9 * RADIUS)
    if code == 2:
        return _polygon_distance(dx, dy, _TRIANGLE_NORMALS, 0.5 * _EXTENT)
    raise LpsInputError(f"shape code must be 0, 1 or 2, got {code}")


def render_world(x: np.ndarray, y: np.ndarray, color: np.ndarray, shape: np.ndarray):
    """Render shapes at centres ``(x, y)`` px with grey level ``color``, vectorized.

    Parameters
    ----------
    x, y : arrays of float, shape (n,)
        Centre column and row in pixels (pixel ``j`` spans ``[j, j + 1]``).
    color : array of float, shape (n,)
        Grey level in [0, 1].
    shape : array of int, shape (n,)
        0 circle (radius 5), 1 square (half-side 4.5), 2 triangle (circumradius 6.25).

    Returns
    -------
    ndarray of float32, shape (n, 1, 32, 32)
        ``color * clip(0.5 - s, 0, 1)`` with ``s`` the signed distance to the outline.
    """
    x, y = np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.float32)
    color, shape = np.asarray(color, dtype=np.float32), np.asarray(shape)
    centres = np.arange(CANVAS, dtype=np.float32) + np.float32(0.5)
    out = np.empty((shape.size, 1, CANVAS, CANVAS), dtype=np.float32)
    for code in np.unique(shape):  # one vectorized group per shape, in cache-sized chunks
        rows = np.flatnonzero(shape == code)
        for lo in range(0, rows.size, _CHUNK):
            sub = rows[lo : lo + _CHUNK]
            dx = centres[None, None, :] - x[sub, None, None]
            dy = centres[None, :, None] - y[sub, None, None]
            cover = np.clip(np.float32(0.5) - _distance(int(code), dx, dy), 0.0, 1.0)
            out[sub, 0] = cover * color[sub, None, None]
    return out


@dataclass(frozen=True)
class SyntheticWorld(FactorDataset):
    """One of the worlds ``xy``, ``xyc``, ``xycs`` (full grid, rendered on demand)."""

    name: str = "xy"
    n_images: int = 1024
    image_shape: tuple[int, int, int] = (1, CANVAS, CANVAS)
    factor_names: tuple[str, ...] | None = WORLDS["xy"]
    grid: FactorGrid = field(default_factory=lambda: _grid("xy"))

    def images(self, index: np.ndarray) -> np.ndarray:
        codes = self.grid.codes_of(index)
        n = codes.shape[0]
        cols = dict(zip(self.grid.names, codes.T, strict=True))
        color = INTENSITIES[cols["color"]] if "color" in cols else np.ones(n)
        shape = cols["shape"] if "shape" in cols else np.zeros(n, dtype=np.int64)
        return render_world(POSITIONS[cols["x"]], POSITIONS[cols["y"]], color, shape)

    def factor_values(self, index: np.ndarray) -> np.ndarray:
        """Physical factor values (n, n_factors): centre px, grey level, shape code."""
        codes = self.grid.codes_of(index)
        return np.stack([_VALUES[n][codes[:, j]] for j, n in enumerate(self.grid.names)], 1)


def _grid(name: str) -> FactorGrid:
    names = WORLDS[name]
    return FactorGrid(
        names, tuple(len(_VALUES[n]) for n in names), tuple(_VALUES[n] for n in names)
    )


def world(name: str) -> SyntheticWorld:
    """The synthetic world ``"xy"``, ``"xyc"`` or ``"xycs"``."""
    if name not in WORLDS:
        raise LpsInputError(f"unknown world {name!r}; choose one of {', '.join(WORLDS)}")
    grid = _grid(name)
    return SyntheticWorld(
        name=name,
        n_images=grid.n_cells,
        image_shape=(1, CANVAS, CANVAS),
        factor_names=grid.names,
        grid=grid,
    )
