"""MNIST, CIFAR-10 and Tiny ImageNet from files in their published formats."""

from __future__ import annotations

import numpy as np
import pytest

from lps_eval import LpsInputError
from lps_eval.data import image_sets
from tests.data.official_files import cifar_tarball, idx_file, tiny_imagenet_zip


def test_mnist_idx_training_then_test(tmp_path):
    paths = {}
    for name, n in zip(image_sets.MNIST_FILES, (5, 5, 3, 3), strict=True):
        arr = (
            np.full((n, 28, 28), 60 if "train" in name else 120, dtype=np.uint8)
            if "images" in name
            else np.arange(n, dtype=np.uint8)
        )
        paths[name] = idx_file(tmp_path / name, arr)
    ds = image_sets.mnist(paths)
    assert ds.n_images == 8 and ds.image_shape == (1, 28, 28) and ds.factor_names is None
    np.testing.assert_allclose(ds.images(np.array([0, 7]))[:, 0, 0, 0], [60 / 255, 120 / 255])
    assert ds.labels.tolist() == [0, 1, 2, 3, 4, 0, 1, 2]


def test_cifar10_binary_from_the_tarball(tmp_path):
    ds = image_sets.cifar10(cifar_tarball(tmp_path / "cifar-10-binary.tar.gz"))
    assert ds.n_images == 18 and ds.image_shape == (3, 32, 32)
    first = ds.images(np.array([0, 17]))
    # pixels = label * 20 + channel; planes are red, green, blue
    np.testing.assert_allclose(
        first[:, :, 0, 0] * 255, [[0, 1, 2], [20 * ds.labels[17] + c for c in range(3)]], atol=1e-4
    )
    with pytest.raises(LpsInputError, match="tar"):
        (tmp_path / "bad.tar.gz").write_bytes(b"nope")
        image_sets.cifar10(tmp_path / "bad.tar.gz")


def test_tiny_imagenet_jpegs_decoded_once(tmp_path):
    ds = image_sets.tiny_imagenet(tiny_imagenet_zip(tmp_path / "t.zip"), cache_dir=tmp_path / "c")
    assert ds.n_images == 5 and ds.image_shape == (3, 64, 64)
    assert ds.labels.tolist() == [0, 0, 1, 1, 1]
    grey = ds.images(np.array([0]))
    np.testing.assert_allclose(grey[0, :, 30, 30], grey[0, 0, 30, 30])  # greyscale -> RGB
    assert abs(ds.images(np.array([4]))[0].mean() * 255 - 200) < 3  # the validation image
    assert len(list((tmp_path / "c").glob("*.npy"))) == 1
