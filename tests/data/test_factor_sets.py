"""The factor datasets read from files laid out as the published ones (written here)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from lps_eval import LpsInputError
from lps_eval.data import factor_sets
from tests.data.official_files import cars_tarball, dsprites_npz, smallnorb_files, write_npz

h5py = pytest.importorskip("h5py")


def test_dsprites_never_unpickles_metadata(tmp_path):
    marker = tmp_path / "pickle-ran"
    path = dsprites_npz(tmp_path / "d.npz", marker=marker)
    with pytest.raises(ValueError):  # the member really is a pickle: numpy refuses it too
        np.load(path, allow_pickle=False)["metadata"]
    ds = factor_sets.dsprites(path)
    assert not marker.exists()
    # the check can fail: loading the member with pickles allowed does run the code
    np.load(path, allow_pickle=True)["metadata"]
    assert marker.exists()
    # color (one value) dropped; sizes from the data
    assert ds.factor_names == ("shape", "scale", "orientation", "pos_x", "pos_y")
    assert ds.factor_sizes == (3, 2, 2, 4, 4) and ds.n_images == 192
    with np.load(path, allow_pickle=False) as raw:
        imgs, classes = raw["imgs"], raw["latents_classes"]
    index = np.array([5, 0, 191, 5, 77])
    np.testing.assert_array_equal(ds.images(index)[:, 0], imgs[index].astype(np.float32))
    np.testing.assert_array_equal(ds.factors(index), classes[index][:, 1:])


def test_dsprites_refuses_a_shuffled_or_partial_grid(tmp_path):
    path = dsprites_npz(tmp_path / "d.npz")
    with np.load(path, allow_pickle=False) as raw:
        arrays = {k: raw[k] for k in ("imgs", "latents_classes", "latents_values")}
    arrays["latents_classes"] = arrays["latents_classes"][::-1].copy()
    write_npz(tmp_path / "shuffled.npz", arrays, compress=True)
    with pytest.raises(LpsInputError, match="C order"):
        factor_sets.dsprites(tmp_path / "shuffled.npz")
    arrays = {k: v[:-1] for k, v in arrays.items()}
    write_npz(tmp_path / "short.npz", arrays, compress=True)
    with pytest.raises(LpsInputError, match="rows"):
        factor_sets.dsprites(tmp_path / "short.npz")


def test_an_object_array_anywhere_else_is_refused(tmp_path):
    path = dsprites_npz(tmp_path / "d.npz")
    with np.load(path, allow_pickle=False) as raw:
        arrays = {k: raw[k] for k in ("imgs", "latents_values")}
    arrays["latents_classes"] = object()
    write_npz(tmp_path / "evil.npz", arrays, compress=True)
    with pytest.raises(LpsInputError, match="pickle"):
        factor_sets.dsprites(tmp_path / "evil.npz")


def _shapes3d(path, sizes=(2, 2, 2, 3, 2, 3)):
    values = [np.linspace(0, 1, s, endpoint=False) for s in sizes]
    codes = np.stack(np.unravel_index(np.arange(int(np.prod(sizes))), sizes), 1)
    labels = np.stack([values[j][codes[:, j]] for j in range(6)], 1)
    images = np.random.default_rng(0).integers(0, 256, (codes.shape[0], 64, 64, 3), dtype=np.uint8)
    with h5py.File(path, "w") as fh:
        fh.create_dataset("images", data=images, chunks=(8, 64, 64, 3), compression="gzip")
        fh.create_dataset("labels", data=labels)
    return images, codes


def test_shapes3d_reads_rows_in_any_order(tmp_path):
    images, codes = _shapes3d(tmp_path / "3dshapes.h5")
    ds = factor_sets.shapes3d(tmp_path / "3dshapes.h5")
    assert ds.factor_sizes == (2, 2, 2, 3, 2, 3) and ds.image_shape == (3, 64, 64)
    index = np.array([100, 3, 4, 5, 3, 0, 143])
    expect = images[index].transpose(0, 3, 1, 2).astype(np.float32) / 255.0
    np.testing.assert_allclose(ds.images(index), expect)
    np.testing.assert_array_equal(ds.factors(index), codes[index])
    np.testing.assert_array_equal(ds.index_of(codes[index]), index)


@pytest.mark.parametrize("compress", [False, True])
def test_mpi3d_grid_from_the_length_or_given(tmp_path, compress):
    sizes = (2, 1, 2, 1, 1, 3, 2)
    n = int(np.prod(sizes))
    images = np.random.default_rng(0).integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)
    path = write_npz(tmp_path / "mpi3d_toy.npz", {"images": images}, compress=compress)
    with pytest.raises(LpsInputError, match="1036800 or 460800"):
        factor_sets.mpi3d(path, cache_dir=tmp_path / "cache")
    ds = factor_sets.mpi3d(path, cache_dir=tmp_path / "cache", factor_sizes=sizes)
    index = np.array([n - 1, 0, 7, 7])
    np.testing.assert_allclose(
        ds.images(index), images[index].transpose(0, 3, 1, 2).astype(np.float32) / 255.0
    )
    assert (tmp_path / "cache").exists() == compress  # a deflated member is unpacked once
    with pytest.raises(LpsInputError, match="make"):
        factor_sets.mpi3d(path, cache_dir=tmp_path / "cache", factor_sizes=(2,) * 7)


def test_mpi3d_sizes_of_the_published_releases():
    assert factor_sets.mpi3d_factor_sizes(1_036_800) == (6, 6, 2, 3, 3, 40, 40)
    assert factor_sets.mpi3d_factor_sizes(460_800) == (4, 4, 2, 3, 3, 40, 40)
    for sizes in factor_sets.MPI3D_GRIDS.values():
        assert int(np.prod(sizes)) in factor_sets.MPI3D_GRIDS


@pytest.mark.parametrize("gz", [True, False])
def test_smallnorb_lands_every_image_in_its_grid_cell(tmp_path, gz):
    paths = smallnorb_files(tmp_path, gz=gz)
    ds = factor_sets.smallnorb(paths, cache_dir=tmp_path / "cache")
    assert ds.n_images == 48_600 and ds.factor_sizes == (5, 9, 18, 6)
    assert ds.factor_names == ("category", "elevation", "azimuth", "lighting")
    index = np.array([0, 1, 48_599, 12_345])
    # the left camera (not the constant right one), resized: constant images stay constant
    np.testing.assert_allclose(ds.images(index)[:, 0, 5, 5] * 255.0, index % 251, atol=1e-3)
    codes = ds.grid.codes_of(index)
    np.testing.assert_array_equal(ds.factors(index), codes[:, [0, 2, 3, 4]])
    again = factor_sets.smallnorb(paths, cache_dir=tmp_path / "cache")  # from the cache
    np.testing.assert_array_equal(again.images(index), ds.images(index))


def test_smallnorb_instance_is_a_nuisance(tmp_path):
    ds = factor_sets.smallnorb(smallnorb_files(tmp_path), cache_dir=tmp_path / "c")
    rng = np.random.default_rng(0)
    with pytest.raises(LpsInputError, match="rng"):
        ds.index_of(np.zeros((3, 4), dtype=int))
    index = ds.index_of(np.zeros((4000, 4), dtype=int), rng)
    instances = ds.grid.codes_of(index)[:, 1]
    assert set(np.unique(instances)) == set(range(10))  # drawn uniformly, not fixed
    np.testing.assert_array_equal(ds.factors(index), 0)


def test_cars3d_order_follows_elevation_azimuth_object(tmp_path):
    tarball = cars_tarball(tmp_path / "nips2015-analogy-data.tar.gz", n_cars=2)
    with pytest.warns(Warning, match="183"):
        ds = factor_sets.cars3d(tarball, cache_dir=tmp_path / "cache")
    assert ds.factor_sizes == (4, 24, 2) and ds.image_shape == (3, 64, 64)
    codes = np.array([[0, 0, 0], [3, 0, 0], [0, 23, 1], [2, 5, 1]])
    pixels = ds.images(ds.index_of(codes))[:, 0, 10, 10] * 255.0
    np.testing.assert_allclose(
        pixels, 10 * codes[:, 0] + codes[:, 1] + 100 * codes[:, 2], atol=1e-3
    )


MEMORY_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    from lps_eval.data import factor_sets
    def peak():  # VmHWM: this process's peak RSS (ru_maxrss carries the parent's over exec)
        return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) * 1024
    before = peak()
    kind, path = sys.argv[1], sys.argv[2]
    if kind == "mpi3d":
        ds = factor_sets.mpi3d(__import__("pathlib").Path(path), factor_sizes=(4, 2, 1, 3, 1, 20, 50))
    else:
        ds = factor_sets.shapes3d(__import__("pathlib").Path(path))
    total = 0.0
    for lo in range(0, ds.n_images, 512):  # encode the whole set with a function encoder
        total += float(ds.images(np.arange(lo, min(lo + 512, ds.n_images))).mean())
    print(before, peak())
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_big_files_stay_on_disk(tmp_path):
    """Reading every image of a 295 MB MPI3D npz and of a 295 MB 3D Shapes h5 raises the
    peak RSS by far less than the file size (the files are never loaded whole)."""
    n = 24_000  # images of 12,288 bytes: 295 MB per file
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)
    mpi = write_npz(tmp_path / "mpi3d_toy.npz", {"images": images}, compress=False)
    sizes = (4, 4, 5, 5, 4, 15)
    codes = np.stack(np.unravel_index(np.arange(n), sizes), 1).astype(float)
    with h5py.File(tmp_path / "3dshapes.h5", "w") as fh:
        fh.create_dataset("images", data=images, chunks=(64, 64, 64, 3))
        fh.create_dataset("labels", data=codes)
    del images
    for kind, path in (("mpi3d", mpi), ("shapes3d", tmp_path / "3dshapes.h5")):
        out = subprocess.run(
            [sys.executable, "-c", MEMORY_SCRIPT, kind, str(path)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        before, peak = (int(v) for v in out.stdout.split()[-2:])
        grown = peak - before  # one 512-image batch as uint8 and float32 is 31 MB
        assert grown < 100 * 2**20 < path.stat().st_size / 2, (kind, grown / 2**20)
