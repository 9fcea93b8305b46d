"""The synthetic worlds xy, xyc, xycs: grid, geometry, anti-aliasing (known answers)."""

from __future__ import annotations

import numpy as np
import pytest

from lps_eval.data import get_dataset, render_world
from lps_eval.data.worlds import INTENSITIES, POSITIONS, RADIUS


@pytest.mark.parametrize(
    ("name", "sizes"), [("xy", (32, 32)), ("xyc", (32, 32, 8)), ("xycs", (32, 32, 8, 3))]
)
def test_full_grid_of_distinct_images(name, sizes):
    ds = get_dataset(name)
    assert ds.factor_sizes == sizes and ds.n_images == int(np.prod(sizes))
    images = ds.images(np.arange(ds.n_images))
    assert images.shape == (ds.n_images, 1, 32, 32) and images.dtype == np.float32
    flat = images.reshape(ds.n_images, -1)
    assert np.unique(flat, axis=0).shape[0] == ds.n_images  # every factor shows
    assert images[:, 0, [0, -1], :].max() == 0 and images[:, 0, :, [0, -1]].max() == 0


def test_circle_centroid_and_area_are_the_geometry():
    """Anti-aliased coverage: the intensity centroid is the centre (to 0.02 px) and the
    total is close to the disc area pi r^2 (the 1-px ramp is exact for straight edges)."""
    x = np.linspace(POSITIONS[0], POSITIONS[-1], 57)  # off-grid, sub-pixel positions too
    y = x[::-1]
    img = render_world(x, y, np.ones(57), np.zeros(57, dtype=int))[:, 0].astype(np.float64)
    centres = np.arange(32) + 0.5
    mass = img.sum(axis=(1, 2))
    np.testing.assert_allclose((img.sum(1) * centres).sum(1) / mass, x, atol=0.02)
    np.testing.assert_allclose((img.sum(2) * centres).sum(1) / mass, y, atol=0.02)
    np.testing.assert_allclose(mass, np.pi * RADIUS**2, rtol=0.01)


def test_images_are_continuous_in_position_and_linear_in_intensity():
    x0 = POSITIONS[10]
    steps = np.array([0.0, 1e-3, 0.1])
    img = render_world(x0 + steps, np.full(3, x0), np.ones(3), np.zeros(3, dtype=int))
    change = np.abs(img[1:] - img[0]).sum(axis=(1, 2, 3))
    assert 0 < change[0] < 0.02 and change[0] < change[1]  # a sub-pixel move shows, smoothly
    ds = get_dataset("xyc")
    dim, bright = ds.images(ds.index_of(np.array([[3, 9, 0], [3, 9, 7]])))
    np.testing.assert_allclose(dim, bright * INTENSITIES[0] / INTENSITIES[-1], atol=1e-6)


def test_worlds_share_their_geometry():
    xy, xycs = get_dataset("xy"), get_dataset("xycs")
    a = xy.images(xy.index_of(np.array([[4, 20]])))
    b = xycs.images(xycs.index_of(np.array([[4, 20, 7, 0]])))  # white circle
    np.testing.assert_array_equal(a, b)
    shapes = xycs.images(xycs.index_of(np.array([[16, 16, 7, s] for s in range(3)])))
    assert len({s.tobytes() for s in shapes}) == 3
