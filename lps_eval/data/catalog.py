"""The built-in datasets, registered once: what ``lps-eval data list`` prints.

Checksums: only a checksum that the *publisher* gives is recorded (CIFAR-10's page lists
MD5 sums of its archives); for every other file none is published, and the registry says
so instead of inventing one (``lps-eval data download`` then needs ``--sha256`` or
``--trust-unverified``). Licences are the publishers' where they state one; an entry
marked "not stated" means the publisher's page names none that we know of.
"""

from __future__ import annotations

from lps_eval.data import factor_sets, image_sets
from lps_eval.data.registry import DatasetSpec, RemoteFile, register_dataset
from lps_eval.data.worlds import WORLDS, world

__all__: list[str] = []


def _procedural() -> None:
    from lps_eval.data.procedural import DSPRITES_FACTOR_NAMES, DSPRITES_FACTOR_SIZES

    blurb = {
        "xy": "a circle at 32 x 32 positions (d = 2)",
        "xyc": "a circle at 32 x 32 positions and 8 grey levels (d = 3)",
        "xycs": "circle, square or triangle at 32 x 32 positions and 8 grey levels (d = 4)",
    }
    for name in WORLDS:
        w = world(name)
        register_dataset(
            DatasetSpec(
                name=name,
                title=f"{name.upper()} world: {blurb[name]}",
                kind="procedural",
                n_images=w.n_images,
                image_shape=w.image_shape,
                factors=tuple(zip(w.grid.names, w.grid.sizes, strict=True)),
                licence="Apache-2.0 (rendered by lps-eval)",
                source="lps_eval.data.worlds, after Cha & Thiyagalingam, ICML 2023",
                load=lambda paths, cache, name=name: world(name),
                memory="rendered on demand, nothing held",
            )
        )

    def _dsprites_procedural(paths, cache):
        from lps_eval.data.procedural import ProceduralDSprites

        return ProceduralDSprites(name="dsprites_procedural")

    register_dataset(
        DatasetSpec(
            name="dsprites_procedural",
            title="dSprites factor grid re-drawn procedurally (not the official sprites)",
            kind="procedural",
            n_images=737_280,
            image_shape=(1, 64, 64),
            factors=tuple(zip(DSPRITES_FACTOR_NAMES, DSPRITES_FACTOR_SIZES, strict=True)),
            licence="Apache-2.0 (rendered by lps-eval)",
            source="lps_eval.data.procedural",
            load=_dsprites_procedural,
            memory="rendered on demand, nothing held",
        )
    )

    def _digits(paths, cache):
        from lps_eval.data.arrays import digits

        return digits()

    register_dataset(
        DatasetSpec(
            name="digits",
            title="scikit-learn's bundled 8 x 8 handwritten digits (no factors)",
            kind="bundled",
            n_images=1797,
            image_shape=(1, 8, 8),
            factors=None,
            licence="BSD-3-Clause (scikit-learn; UCI optdigits)",
            source="sklearn.datasets.load_digits",
            load=_digits,
            memory="in memory (0.5 MB)",
        )
    )


def _factor_files() -> None:
    dsprites = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
    register_dataset(
        DatasetSpec(
            name="dsprites",
            title="dSprites (Matthey et al. 2017), the official npz",
            kind="files",
            n_images=737_280,
            image_shape=(1, 64, 64),
            factors=(("shape", 3), ("scale", 6), ("orientation", 40), ("pos_x", 32), ("pos_y", 32)),
            licence="Apache-2.0",
            source="https://github.com/deepmind/dsprites-dataset",
            files=(
                RemoteFile(
                    dsprites,
                    f"https://github.com/deepmind/dsprites-dataset/raw/master/{dsprites}",
                ),
            ),
            dlib_folder="dsprites",
            load=lambda paths, cache: factor_sets.dsprites(paths[dsprites]),
            memory="images bit-packed in memory: 377 MB",
        )
    )
    register_dataset(
        DatasetSpec(
            name="shapes3d",
            title="3D Shapes (Burgess & Kim 2018)",
            kind="files",
            n_images=480_000,
            image_shape=(3, 64, 64),
            factors=tuple(zip(factor_sets.SHAPES3D_FACTORS, (10, 10, 10, 8, 4, 15), strict=True)),
            licence="Apache-2.0",
            source="https://github.com/deepmind/3d-shapes",
            files=(
                RemoteFile("3dshapes.h5", "https://storage.googleapis.com/3d-shapes/3dshapes.h5"),
            ),
            dlib_folder="3dshapes",
            load=lambda paths, cache: factor_sets.shapes3d(paths["3dshapes.h5"]),
            memory="stays on disk (5.9 GB of uint8 images); labels in memory (23 MB); needs h5py",
        )
    )
    for variant in ("toy", "realistic", "real"):
        name = f"mpi3d_{variant}"
        register_dataset(
            DatasetSpec(
                name=name,
                title=f"MPI3D {variant} (Gondal et al. 2019)",
                kind="files",
                n_images=1_036_800,
                image_shape=(3, 64, 64),
                factors=tuple(zip(factor_sets.MPI3D_FACTORS, (6, 6, 2, 3, 3, 40, 40), strict=True)),
                licence="CC-BY-4.0",
                source="https://github.com/rr-learning/disentanglement_dataset",
                files=(
                    RemoteFile(
                        f"{name}.npz",
                        "https://storage.googleapis.com/disentanglement_dataset/Final_Dataset/"
                        f"{name}.npz",
                    ),
                ),
                dlib_folder=name,
                load=lambda paths, cache, name=name: factor_sets.mpi3d(
                    paths[f"{name}.npz"], name=name, cache_dir=cache
                ),
                memory="stays on disk (12.7 GB of uint8 images), read by offset",
                notes="factor sizes from the image count: 1,036,800 -> 6,6,2,3,3,40,40; "
                "460,800 (an earlier release, disentanglement_lib's sizes) -> 4,4,2,3,3,40,40",
            )
        )


def _norb_and_cars() -> None:
    base = "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/"
    norb = []
    for split, instances in (("training", "46789"), ("testing", "01235")):
        for kind in ("dat", "cat", "info"):
            stem = f"smallnorb-5x{instances}x9x18x6x2x96x96-{split}-{kind}.mat"
            norb.append(RemoteFile(f"{stem}.gz", base + f"{stem}.gz", alternates=(stem,)))
    register_dataset(
        DatasetSpec(
            name="smallnorb",
            title="SmallNORB (LeCun, Huang & Bottou 2004), first camera, 64 x 64",
            kind="files",
            n_images=48_600,
            image_shape=(1, 64, 64),
            factors=(("category", 5), ("elevation", 9), ("azimuth", 18), ("lighting", 6)),
            licence="not stated by the publisher (research use; see the NYU page)",
            source=base,
            files=tuple(norb),
            dlib_folder="small_norb",
            load=lambda paths, cache: factor_sets.smallnorb(paths, cache_dir=cache),
            memory="resized once into a 199 MB cache, read from disk; the instance (10) is a "
            "nuisance of the grid, drawn uniformly",
        )
    )
    cars = "nips2015-analogy-data.tar.gz"
    register_dataset(
        DatasetSpec(
            name="cars3d",
            title="Cars3D (Reed et al. 2015), 64 x 64",
            kind="files",
            n_images=17_568,
            image_shape=(3, 64, 64),
            factors=(("elevation", 4), ("azimuth", 24), ("object_type", 183)),
            licence="not stated by the publisher",
            source="http://www.scottreed.info/",
            files=(
                RemoteFile(cars, f"http://www.scottreed.info/files/{cars}", alternates=("cars",)),
            ),
            load=lambda paths, cache: factor_sets.cars3d(paths[cars], cache_dir=cache),
            memory="resized once into a 216 MB cache, read from disk",
            notes="cars numbered in file-name order",
        )
    )


def _image_files() -> None:
    mnist_base = "http://yann.lecun.com/exdb/mnist/"
    register_dataset(
        DatasetSpec(
            name="mnist",
            title="MNIST (LeCun et al. 1998), training + test, no factors",
            kind="files",
            n_images=70_000,
            image_shape=(1, 28, 28),
            factors=None,
            licence="not stated by the publisher (commonly given as CC BY-SA 3.0)",
            source=mnist_base,
            files=tuple(
                RemoteFile(f, mnist_base + f, alternates=(f[:-3],)) for f in image_sets.MNIST_FILES
            ),
            load=lambda paths, cache: image_sets.mnist(paths),
            memory="in memory (55 MB)",
        )
    )
    cifar = "cifar-10-binary.tar.gz"
    register_dataset(
        DatasetSpec(
            name="cifar10",
            title="CIFAR-10 (Krizhevsky 2009), binary version, training + test, no factors",
            kind="files",
            n_images=60_000,
            image_shape=(3, 32, 32),
            factors=None,
            licence="not stated by the publisher",
            source="https://www.cs.toronto.edu/~kriz/cifar.html",
            files=(
                RemoteFile(
                    cifar,
                    f"https://www.cs.toronto.edu/~kriz/{cifar}",
                    checksum=("md5", "c32a1d4ab5d03f1284b67883e8d87530"),
                    alternates=("cifar-10-batches-bin",),
                ),
            ),
            load=lambda paths, cache: image_sets.cifar10(paths[cifar]),
            memory="in memory (184 MB)",
        )
    )
    tiny = "tiny-imagenet-200.zip"
    register_dataset(
        DatasetSpec(
            name="tiny_imagenet",
            title="Tiny ImageNet (CS231n), training + validation, no factors",
            kind="files",
            n_images=110_000,
            image_shape=(3, 64, 64),
            factors=None,
            licence="ImageNet terms of access (non-commercial research); not restated by CS231n",
            source="http://cs231n.stanford.edu/",
            files=(
                RemoteFile(
                    tiny, f"http://cs231n.stanford.edu/{tiny}", alternates=("tiny-imagenet-200",)
                ),
            ),
            load=lambda paths, cache: image_sets.tiny_imagenet(paths[tiny], cache_dir=cache),
            memory="decoded once into a 1.35 GB cache (needs Pillow), read from disk",
        )
    )


_procedural()
_factor_files()
_norb_and_cars()
_image_files()
