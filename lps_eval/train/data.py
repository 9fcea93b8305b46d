"""Training data for the reference trainer (a thin view of :mod:`lps_eval.data`).

The sources moved to :mod:`lps_eval.data` (the procedural dSprites to
:mod:`lps_eval.data.procedural`, in-memory arrays and digits to :mod:`lps_eval.data.arrays`);
this module keeps the names the trainer has always imported, with the same behaviour and
numbers, and :func:`make_source` resolves every registered dataset
(:func:`lps_eval.data.dataset_specs`: ``xy``, ``xyc``, ``xycs``, ``shapes3d``,
``mpi3d_toy``, ...) besides arrays and image files.

Every source returns float32 images in [0, 1] with shape (n, C, H, W).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from lps_eval._validation import LpsDeprecationWarning, LpsInputError
from lps_eval.data import (
    DSPRITES_FACTOR_NAMES,
    DSPRITES_FACTOR_SIZES,
    ArrayImages,
    ImageSource,
    ProceduralDSprites,
    dataset_specs,
    digits,
    from_array,
    from_file,
    get_dataset,
    load_images,
    render_dsprites,
)

__all__ = [
    "DSPRITES_FACTOR_NAMES",
    "DSPRITES_FACTOR_SIZES",
    "ArrayImages",
    "ImageSource",
    "ProceduralDSprites",
    "digits",
    "from_array",
    "from_file",
    "load_images",
    "make_source",
    "render_dsprites",
]

_IMAGE_SUFFIXES = (".npy", ".npz", ".pt", ".pth")


def _official_files_present(name: str, data_dir: str | Path | None) -> bool:
    """Whether every official file of dataset ``name`` is in the data directory."""
    from lps_eval.data import get_spec, locate

    spec = get_spec(name)
    return all(locate(spec, remote, data_dir) is not None for remote in spec.files)


def make_source(
    dataset: str | np.ndarray | ImageSource, *, data_dir: str | Path | None = None
) -> ImageSource:
    """Resolve a dataset name, a path to ``.npy`` images, an array or a source.

    Parameters
    ----------
    dataset : str, path, array or ImageSource
        A registered name (``lps-eval data list``), a ``.npy``/``.npz``/``.pt`` image
        file, an image array (N, H, W) or (N, C, H, W), or a source (returned as is).
        ``"dsprites"`` reads the official file when it is in the data directory; without
        it, it keeps meaning the procedural re-drawing for one release (with an
        :class:`~lps_eval.LpsDeprecationWarning`; say ``"dsprites_procedural"`` for it).
    data_dir : path, optional
        Where the official files are (see :func:`lps_eval.data.get_dataset`).
    """
    if isinstance(dataset, ImageSource):
        return dataset
    if isinstance(dataset, np.ndarray):
        return from_array(dataset)
    if not isinstance(dataset, (str, Path)):
        raise LpsInputError(
            f"dataset must be a dataset name, a .npy path or an array, got {dataset!r}"
        )
    key = str(dataset)
    if key.lower() == "dsprites":
        if _official_files_present("dsprites", data_dir):
            return get_dataset("dsprites", data_dir=data_dir)
        warnings.warn(
            "dataset 'dsprites': the official file is not in the data directory, so the "
            "trainer uses the procedural re-drawing; call it 'dsprites_procedural' (same "
            "images), or download the official file (`lps-eval data download dsprites`), "
            "which 'dsprites' alone will mean from the next release",
            LpsDeprecationWarning,
            stacklevel=2,
        )
        return ProceduralDSprites()
    if key.lower() == "digits":
        return digits()
    if key.lower() in dataset_specs():
        return get_dataset(key.lower(), data_dir=data_dir)
    if Path(key).suffix.lower() in _IMAGE_SUFFIXES:
        return from_file(key)
    raise LpsInputError(
        f"unknown dataset {key!r}; use a name from `lps-eval data list` "
        f"({', '.join(dataset_specs())}) or a path to a .npy image array"
    )
