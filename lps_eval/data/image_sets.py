"""Loaders of the image sets without generative factors: MNIST, CIFAR-10, Tiny ImageNet.

The paper (Fruytier et al. 2025) reports LPS on them; they have class labels but no
factor grid, so only the unsupervised measurements (LPS, MMD, independence) apply. The
class labels are kept in ``labels``. Training and test parts are concatenated, training
first, in the publisher's order.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from lps_eval._validation import LpsInputError
from lps_eval.data.formats import read_cifar_records, read_idx
from lps_eval.data.stores import (
    ArrayStore,
    StoredImages,
    cache_file,
    npy_store,
    write_npy_cache,
)

__all__ = ["MNIST_FILES", "cifar10", "mnist", "tiny_imagenet"]

#: MNIST's four IDX files (as published, gzip-compressed), training first.
MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
_CIFAR_BATCHES = (*(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin")


def mnist(paths: dict[str, Path], *, name: str = "mnist") -> StoredImages:
    """MNIST from its IDX files (70,000 grey 28 x 28 images, labels 0-9)."""
    images, labels = [], []
    for img_name, lab_name in (MNIST_FILES[:2], MNIST_FILES[2:]):
        img, lab = read_idx(paths[img_name]), read_idx(paths[lab_name])
        if img.dtype != np.uint8 or img.ndim != 3 or lab.shape != (img.shape[0],):
            raise LpsInputError(
                f"{paths[img_name]}: expected uint8 images (n, 28, 28) and n labels, got "
                f"{img.dtype} {img.shape} and {lab.shape}"
            )
        images.append(img)
        labels.append(lab.astype(np.int64))
    data = np.concatenate(images)
    store = ArrayStore(data.shape[0], data.shape[1:], "NHW", array=data)
    return StoredImages(
        name=name,
        n_images=data.shape[0],
        image_shape=store.image_shape,
        store=store,
        labels=np.concatenate(labels),
        files=tuple(str(paths[f]) for f in MNIST_FILES),
    )


def _cifar_batches(source: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of the six binary batches, from the tarball or its extracted folder."""
    if source.is_dir():
        for batch in _CIFAR_BATCHES:
            path = source / batch
            if not path.is_file():
                raise LpsInputError(f"{source} lacks {batch}; extract the whole archive")
            yield batch, path.read_bytes()
        return
    try:
        with tarfile.open(source, "r:*") as tar:
            found = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            for batch in _CIFAR_BATCHES:
                if batch not in found:
                    raise LpsInputError(
                        f"{source} lacks {batch}; is it the binary version (not the python one)?"
                    )
                yield batch, tar.extractfile(found[batch]).read()
    except tarfile.TarError as exc:
        raise LpsInputError(f"{source} is not a readable tar archive: {exc}") from None


def cifar10(source: Path, *, name: str = "cifar10") -> StoredImages:
    """CIFAR-10 from the binary version (``cifar-10-binary.tar.gz``; never the pickles).

    60,000 RGB 32 x 32 images (five training batches, then the test batch), labels 0-9.
    """
    pairs = [read_cifar_records(data, n) for n, data in _cifar_batches(source)]
    labels, images = [p[0] for p in pairs], [p[1] for p in pairs]
    data = np.concatenate(images)
    store = ArrayStore(data.shape[0], data.shape[1:], "NCHW", array=data)
    return StoredImages(
        name=name,
        n_images=data.shape[0],
        image_shape=store.image_shape,
        store=store,
        labels=np.concatenate(labels),
        files=(str(source),),
    )


class _Folder:
    """Read files of an extracted folder or a zip archive by relative name."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.zip = None if source.is_dir() else zipfile.ZipFile(source)
        if self.zip is not None:
            names = self.zip.namelist()
            self.prefix = names[0].split("/")[0] + "/" if names else ""
            self.names = {n[len(self.prefix) :] for n in names}
        else:
            self.prefix = ""
            self.names = {p.relative_to(source).as_posix() for p in source.rglob("*")}

    def read(self, name: str) -> bytes:
        if self.zip is not None:
            return self.zip.read(self.prefix + name)
        return (self.source / name).read_bytes()


def _decode(folder: _Folder, names: list[str]) -> Iterator[np.ndarray]:
    """JPEGs decoded to uint8 (n, 64, 64, 3), 512 at a time (greyscale ones as RGB)."""
    from PIL import Image

    for lo in range(0, len(names), 512):
        chunk = []
        for name in names[lo : lo + 512]:  # JPEG decoding is per file
            with Image.open(io.BytesIO(folder.read(name))) as im:
                arr = np.asarray(im.convert("RGB"))
            if arr.shape != (64, 64, 3):
                raise LpsInputError(f"{name} is {arr.shape}; Tiny ImageNet images are 64 x 64")
            chunk.append(arr)
        yield np.stack(chunk)


def _tiny_listing(folder: _Folder) -> tuple[list[str], np.ndarray]:
    """Image names (training by class, then validation) and their class labels."""
    if "wnids.txt" not in folder.names:
        raise LpsInputError(f"{folder.source} has no wnids.txt; not the Tiny ImageNet archive")
    wnids = folder.read("wnids.txt").decode().split()
    label_of = {w: i for i, w in enumerate(wnids)}
    names, labels = [], []
    for wnid in wnids:
        files = sorted(n for n in folder.names if n.startswith(f"train/{wnid}/images/"))
        files = [n for n in files if n.lower().endswith(".jpeg")]
        names += files
        labels += [label_of[wnid]] * len(files)
    if "val/val_annotations.txt" in folder.names:
        for line in folder.read("val/val_annotations.txt").decode().splitlines():
            parts = line.split("\t")
            if len(parts) >= 2 and parts[1] in label_of:
                names.append(f"val/images/{parts[0]}")
                labels.append(label_of[parts[1]])
    return names, np.asarray(labels, dtype=np.int64)


def tiny_imagenet(source: Path, *, cache_dir: Path, name: str = "tiny_imagenet") -> StoredImages:
    """Tiny ImageNet from ``tiny-imagenet-200.zip`` (or its extracted folder).

    The 100,000 training JPEGs (200 classes in ``wnids.txt`` order) and the 10,000
    validation ones (labels from ``val_annotations.txt``); the unlabelled test images are
    left out. Decoded once into a cached ``.npy`` (1.3 GB on disk), written chunk by chunk;
    then read by row runs from disk.
    """
    folder = _Folder(source)
    names, labels = _tiny_listing(folder)
    if not names:
        raise LpsInputError(f"{source} holds no train/*/images/*.JPEG; not Tiny ImageNet")
    target = cache_file(cache_dir, f"{name}-{len(names)}", [source])
    if not target.exists():
        write_npy_cache(target, (len(names), 64, 64, 3), _decode(folder, names))
    store = npy_store(target, "NHWC")
    return StoredImages(
        name=name,
        n_images=store.n,
        image_shape=store.image_shape,
        store=store,
        labels=labels,
        files=(str(source),),
    )
