"""Loaders of the factor datasets from their official files: dSprites, 3D Shapes, MPI3D,
SmallNORB and Cars3D.

Each returns a :class:`~lps_eval.data.stores.StoredFactorDataset` whose image ``i`` is
grid cell ``i`` (C order over the factors). Factor sizes are taken from the data and
checked against the array lengths; a file that is not the full grid in that order is
refused with one line. Memory: 3D Shapes and MPI3D stay on disk (read by row runs);
dSprites is held bit-packed (377 MB); SmallNORB and Cars3D are resized to 64 x 64 once
into a cached ``.npy`` in ``<data dir>/.lps-eval-cache`` and read from there.

References
----------
disentanglement_lib (Locatello et al. 2019), ``data/ground_truth/``: the factor
definitions and the preprocessing (first camera and 64 x 64 for SmallNORB, azimuth codes
halved; 64 x 64 for Cars3D) that are reproduced here.
"""

from __future__ import annotations

import io
import re
import tarfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from lps_eval._validation import LpsInputError, LpsInputWarning
from lps_eval.data.base import FactorGrid
from lps_eval.data.formats import (
    iter_norb_rows,
    iter_npy_rows,
    norb_shape,
    npz_members,
    read_norb,
    read_npz_array,
)
from lps_eval.data.stores import (
    H5Store,
    PackedBitsStore,
    StoredFactorDataset,
    area_resize,
    cache_file,
    npy_store,
    write_npy_cache,
)

__all__ = [
    "CARS3D_FACTORS",
    "DSPRITES_FILE_FACTORS",
    "MPI3D_FACTORS",
    "SHAPES3D_FACTORS",
    "SMALLNORB_FACTORS",
    "cars3d",
    "dsprites",
    "mpi3d",
    "mpi3d_factor_sizes",
    "shapes3d",
    "smallnorb",
]

#: dSprites' six latent columns; ``color`` has one value and is dropped.
DSPRITES_FILE_FACTORS = ("color", "shape", "scale", "orientation", "pos_x", "pos_y")
SHAPES3D_FACTORS = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
MPI3D_FACTORS = (
    "object_color",
    "object_shape",
    "object_size",
    "camera_height",
    "background_color",
    "horizontal_axis",
    "vertical_axis",
)
#: MPI3D grids by image count: the published files (2019 "Final_Dataset") have 1,036,800
#: images (6 colours, 6 shapes); disentanglement_lib's code hard-codes the 460,800-image
#: grid of an earlier release (4 colours, 4 shapes), disent the larger one.
MPI3D_GRIDS = {1_036_800: (6, 6, 2, 3, 3, 40, 40), 460_800: (4, 4, 2, 3, 3, 40, 40)}
SMALLNORB_FACTORS = ("category", "instance", "elevation", "azimuth", "lighting")
CARS3D_FACTORS = ("elevation", "azimuth", "object_type")

_CHUNK = 8192


def _grid_dataset(name: str, grid: FactorGrid, store: Any, path: Path) -> StoredFactorDataset:
    """A dataset whose rows are every cell of ``grid`` in C order, images in ``store``."""
    return StoredFactorDataset(
        name=name,
        n_images=grid.n_cells,
        image_shape=store.image_shape,
        factor_names=grid.names,
        grid=grid,
        store=store,
        files=(str(path),),
    )


def _check_grid_order(grid: FactorGrid, codes: np.ndarray, what: str) -> None:
    """Refuse a file whose rows are not the full grid in C order."""
    if codes.shape[0] != grid.n_cells:
        raise LpsInputError(
            f"{what} has {codes.shape[0]} rows but its factor sizes {grid.sizes} make "
            f"{grid.n_cells}; the file is incomplete or not the published one"
        )
    if not np.array_equal(grid.index_of(codes), np.arange(grid.n_cells)):
        raise LpsInputError(
            f"{what}: rows are not the full factor grid in C order; not the published file"
        )


def _image_member(members: dict, key: str, path: Path, ndim: int):
    if key not in members:
        raise LpsInputError(f"{path} has no {key!r} array (found: {', '.join(members)})")
    member = members[key]
    if member.dtype != np.uint8 or len(member.shape) != ndim:
        raise LpsInputError(
            f"{path}:{key} must be a {ndim}-d uint8 array, got {member.dtype} {member.shape}"
        )
    return member


# ----------------------------------------------------------------------------- dSprites


def dsprites(path: Path, *, name: str = "dsprites") -> StoredFactorDataset:
    """dSprites from ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz``.

    Reads ``imgs`` (737,280 x 64 x 64, values 0/1) and ``latents_classes`` (737,280 x 6
    integer codes). The ``metadata`` member is a pickled dict and is never opened; factor
    sizes come from ``latents_classes`` (max + 1 per column), the constant ``color``
    column is dropped. Images are bit-packed in memory (377 MB), streamed from the
    compressed file in chunks.
    """
    members = npz_members(path, skip=("metadata",))
    if "latents_classes" not in members:
        raise LpsInputError(f"{path} has no 'latents_classes' array; not the dSprites file")
    classes = read_npz_array(members["latents_classes"]).astype(np.int64)
    if classes.ndim != 2 or classes.shape[1] != len(DSPRITES_FILE_FACTORS):
        raise LpsInputError(f"{path}: latents_classes must be (n, 6), got {classes.shape}")
    sizes = classes.max(axis=0) + 1
    keep = [j for j in range(classes.shape[1]) if sizes[j] > 1]
    grid = FactorGrid(
        tuple(DSPRITES_FILE_FACTORS[j] for j in keep), tuple(int(sizes[j]) for j in keep)
    )
    _check_grid_order(grid, classes[:, keep], str(path))
    imgs = _image_member(members, "imgs", path, 3)
    if imgs.shape[0] != grid.n_cells:
        raise LpsInputError(f"{path}: imgs has {imgs.shape[0]} rows, latents {grid.n_cells}")
    chunks = []
    for chunk in iter_npy_rows(imgs, _CHUNK):
        if chunk.max(initial=0) > 1:
            raise LpsInputError(f"{path}: imgs holds values above 1; dSprites images are 0/1")
        chunks.append(np.packbits(chunk, axis=-1))
    store = PackedBitsStore(imgs.shape[0], imgs.shape[1:], "NHW", packed=np.concatenate(chunks))
    return _grid_dataset(name, grid, store, path)


# ----------------------------------------------------------------------------- 3D Shapes


def shapes3d(path: Path, *, name: str = "shapes3d") -> StoredFactorDataset:
    """3D Shapes from ``3dshapes.h5`` (``images`` n x 64 x 64 x 3 uint8, ``labels`` n x 6).

    The factor values are the distinct values of each ``labels`` column (10 floor hues,
    10 wall hues, 10 object hues, 8 scales, 4 shapes, 15 orientations = 480,000); images
    stay in the HDF5 file and are read by row runs (needs h5py: ``pip install
    'lps-eval[datasets]'``).
    """
    try:
        import h5py
    except ImportError:
        raise LpsInputError(
            "reading 3dshapes.h5 needs h5py; pip install 'lps-eval[datasets]'"
        ) from None
    try:
        with h5py.File(path, "r") as fh:
            if "images" not in fh or "labels" not in fh:
                raise LpsInputError(f"{path} must hold 'images' and 'labels' datasets")
            labels = np.asarray(fh["labels"][()], dtype=np.float64)
            shape, dtype = fh["images"].shape, fh["images"].dtype
    except OSError as exc:
        raise LpsInputError(f"{path} is not a readable HDF5 file: {exc}") from None
    if dtype != np.uint8 or len(shape) != 4 or labels.shape != (shape[0], 6):
        raise LpsInputError(
            f"{path}: expected uint8 images (n, H, W, 3) and labels (n, 6), got {dtype} "
            f"{shape} and {labels.shape}"
        )
    values = [np.unique(labels[:, j]) for j in range(6)]
    codes = np.stack([np.searchsorted(values[j], labels[:, j]) for j in range(6)], axis=1)
    grid = FactorGrid(SHAPES3D_FACTORS, tuple(v.size for v in values), tuple(values))
    _check_grid_order(grid, codes, str(path))
    store = H5Store(shape[0], tuple(shape[1:]), "NHWC", path=path, key="images")
    return _grid_dataset(name, grid, store, path)


# ----------------------------------------------------------------------------- MPI3D


def mpi3d_factor_sizes(n_images: int) -> tuple[int, ...]:
    """MPI3D's factor sizes from the number of images (see :data:`MPI3D_GRIDS`)."""
    if n_images not in MPI3D_GRIDS:
        raise LpsInputError(
            f"an MPI3D file has {n_images} images; the published grids have "
            f"{' or '.join(str(n) for n in MPI3D_GRIDS)}; pass factor_sizes= for another one"
        )
    return MPI3D_GRIDS[n_images]


def mpi3d(
    path: Path,
    *,
    name: str = "mpi3d_toy",
    cache_dir: Path | None = None,
    factor_sizes: tuple[int, ...] | None = None,
) -> StoredFactorDataset:
    """MPI3D toy / realistic / real from its ``.npz`` (``images`` n x 64 x 64 x 3 uint8).

    The file holds no factor array: the grid is inferred from the image count
    (:func:`mpi3d_factor_sizes`) unless ``factor_sizes`` is given, and must match it. A
    stored (uncompressed) member is read in place by offset; a compressed one is
    unpacked once into ``cache_dir`` (chunk by chunk).
    """
    members = npz_members(path)
    member = _image_member(members, "images", path, 4)
    sizes = tuple(factor_sizes) if factor_sizes else mpi3d_factor_sizes(member.shape[0])
    grid = FactorGrid(MPI3D_FACTORS, sizes)
    if grid.n_cells != member.shape[0]:
        raise LpsInputError(
            f"{path} has {member.shape[0]} images but factor sizes {sizes} make {grid.n_cells}"
        )
    if member.compressed:
        target = cache_file(cache_dir or path.parent / ".lps-eval-cache", name, [path])
        if not target.exists():
            write_npy_cache(target, member.shape, iter_npy_rows(member, _CHUNK))
        store = npy_store(target, "NHWC")
    else:
        from lps_eval.data.stores import RawFileStore

        store = RawFileStore(
            member.shape[0], member.shape[1:], "NHWC", path=path, offset=member.data_offset
        )
    return _grid_dataset(name, grid, store, path)


# ----------------------------------------------------------------------------- SmallNORB


def _norb_features(cat: Path, info: Path) -> np.ndarray:
    """(n, 5) codes: category, instance, elevation, azimuth / 2, lighting."""
    labels, meta = read_norb(cat).reshape(-1), read_norb(info)
    if meta.ndim != 2 or meta.shape != (labels.size, 4):
        raise LpsInputError(f"{info}: expected ({labels.size}, 4) info, got {meta.shape}")
    features = np.column_stack([labels, meta]).astype(np.int64)
    features[:, 3] //= 2  # azimuths are 0, 2, ..., 34
    return features


def smallnorb(paths: dict[str, Path], *, cache_dir: Path, name: str = "smallnorb"):
    """SmallNORB from its six NYU binary-matrix files (training and testing dat/cat/info).

    As in disentanglement_lib: the first camera of each stereo pair, resized to 64 x 64
    (area averaging here, Pillow's Lanczos there), both halves together (48,600 images);
    the grid is category 5 x instance 10 x elevation 9 x azimuth 18 x lighting 6, and the
    instance is a nuisance (drawn uniformly, not a factor). The resized images are cached.
    """
    parts = []
    for split in ("training", "testing"):
        by_kind = {k: v for k, v in paths.items() if f"-{split}-" in k}
        get = {
            kind: next(p for k, p in by_kind.items() if f"-{kind}." in k)
            for kind in ("dat", "cat", "info")
        }
        parts.append(get)
    features = np.concatenate([_norb_features(p["cat"], p["info"]) for p in parts])
    sizes = (5, 10, 9, 18, 6)
    grid = FactorGrid(SMALLNORB_FACTORS, sizes)
    try:
        index = grid.index_of(features)
    except LpsInputError as exc:
        raise LpsInputError(f"SmallNORB labels out of range: {exc}") from None
    if np.unique(index).size != grid.n_cells or index.size != grid.n_cells:
        raise LpsInputError(
            f"SmallNORB files hold {index.size} images covering {np.unique(index).size} of the "
            f"{grid.n_cells} grid cells; use the published training and testing files"
        )
    sources = [p[k] for p in parts for k in ("dat", "cat", "info")]
    target = cache_file(cache_dir, f"{name}-64x64", sources)
    if not target.exists():
        out = np.zeros((grid.n_cells, 64, 64), dtype=np.uint8)
        offset = 0
        for p in parts:
            shape = norb_shape(p["dat"])
            if len(shape) != 4 or shape[1] != 2:
                raise LpsInputError(f"{p['dat']}: expected (n, 2, H, W) stereo pairs, got {shape}")
            for chunk in iter_norb_rows(p["dat"], 2048):
                rows = index[offset : offset + chunk.shape[0]]
                out[rows] = area_resize(chunk[:, 0], (64, 64))
                offset += chunk.shape[0]
        write_npy_cache(target, out.shape, [out])
    return StoredFactorDataset(
        name=name,
        n_images=grid.n_cells,
        image_shape=(1, 64, 64),
        factor_names=tuple(SMALLNORB_FACTORS[c] for c in (0, 2, 3, 4)),
        grid=grid,
        factor_columns=(0, 2, 3, 4),
        store=npy_store(target, "NHW"),
        files=tuple(str(s) for s in sources),
    )


# ----------------------------------------------------------------------------- Cars3D

_CARS_MEMBER = re.compile(r"(^|/)cars/[^/]+\.mat$")


def _cars_meshes(source: Path) -> Iterator[tuple[str, io.BytesIO | Path]]:
    """(name, file) of every car ``.mat``, sorted by name: from the tarball or a folder."""
    if source.is_dir():
        folder = source / "cars" if (source / "cars").is_dir() else source
        for path in sorted(folder.glob("*.mat")):
            yield path.name, path
        return
    try:
        with tarfile.open(source, "r:*") as tar:
            members = sorted(
                (m for m in tar.getmembers() if m.isfile() and _CARS_MEMBER.search(m.name)),
                key=lambda m: m.name,
            )
            for m in members:
                yield m.name, io.BytesIO(tar.extractfile(m).read())
    except tarfile.TarError as exc:
        raise LpsInputError(f"{source} is not a readable tar archive: {exc}") from None


def _load_mesh(name: str, handle: io.BytesIO | Path) -> np.ndarray:
    """One car: ``im`` (H, W, 3, 24 azimuths, 4 elevations) -> (96, 64, 64, 3) uint8,
    row ``r`` = elevation ``r % 4``, azimuth ``r // 4`` (disentanglement_lib's order)."""
    from scipy.io import loadmat

    try:
        mat = loadmat(handle, variable_names=["im"])  # numeric arrays only, no objects
    except (ValueError, TypeError, NotImplementedError) as exc:
        raise LpsInputError(f"{name} is not a readable MATLAB file: {exc}") from None
    im = mat.get("im")
    if not isinstance(im, np.ndarray) or im.dtype != np.uint8 or im.shape[2:] != (3, 24, 4):
        got = f"{im.dtype} {im.shape}" if isinstance(im, np.ndarray) else "nothing"
        raise LpsInputError(f"{name}: 'im' must be uint8 (H, W, 3, 24, 4), got {got}")
    mesh = np.einsum("abcde->deabc", im).reshape(96, *im.shape[:3])
    return area_resize(mesh, (64, 64))


def cars3d(source: Path, *, cache_dir: Path, name: str = "cars3d") -> StoredFactorDataset:
    """Cars3D from ``nips2015-analogy-data.tar.gz`` (or its ``cars/`` folder of ``.mat``).

    Every car is one MATLAB file whose ``im`` holds 24 azimuths x 4 elevations of
    128 x 128 RGB; images are resized to 64 x 64 (area averaging) and cached. Cars are
    numbered in file-name order (disentanglement_lib used the directory's listing order,
    which the file system decides). The published archive has 183 cars.
    """
    sources = [source] if source.is_file() else sorted(source.rglob("*.mat"))
    target = cache_file(cache_dir, f"{name}-64x64", sources)
    if not target.exists():
        meshes = [_load_mesh(n, h) for n, h in _cars_meshes(source)]
        if not meshes:
            raise LpsInputError(f"{source} holds no cars/*.mat files; not the Cars3D archive")
        # grid (elevation, azimuth, object): cell (e, a, o) <- mesh o, row a * 4 + e
        stacked = np.stack(meshes)  # (objects, 96, 64, 64, 3), row = a * 4 + e
        stacked = stacked.reshape(len(meshes), 24, 4, 64, 64, 3).transpose(2, 1, 0, 3, 4, 5)
        write_npy_cache(target, (4 * 24 * len(meshes), 64, 64, 3), [stacked.reshape(-1, 64, 64, 3)])
    store = npy_store(target, "NHWC")
    n_objects = store.n // 96
    if n_objects != 183:
        warnings.warn(
            f"{name}: found {n_objects} cars; the published Cars3D has 183",
            LpsInputWarning,
            stacklevel=2,
        )
    grid = FactorGrid(CARS3D_FACTORS, (4, 24, n_objects))
    return _grid_dataset(name, grid, store, source)
