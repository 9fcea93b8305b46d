"""Datasets: procedural worlds, the benchmark sets from their official files, downloads.

>>> from lps_eval.data import get_dataset
>>> xy = get_dataset("xy")
>>> xy.n_images, xy.image_shape, xy.factor_sizes
(1024, (1, 32, 32), (32, 32))

* :mod:`~lps_eval.data.base`: the interface (:class:`ImageSource`, :class:`FactorGrid`,
  :class:`FactorDataset` with ``index_of`` and the fixed-factor sampler);
* :mod:`~lps_eval.data.worlds` (``xy``, ``xyc``, ``xycs``) and
  :mod:`~lps_eval.data.procedural` (dSprites re-drawn): rendered, nothing downloaded;
* :mod:`~lps_eval.data.factor_sets` and :mod:`~lps_eval.data.image_sets`: readers of the
  official files (:mod:`~lps_eval.data.formats`: the binary formats, never a pickle;
  :mod:`~lps_eval.data.stores`: pixels read by index with bounded memory);
* :mod:`~lps_eval.data.registry` (:func:`get_dataset`, :func:`dataset_specs`) and
  :mod:`~lps_eval.data.downloads` (checksum-verified, resumable downloads).

See docs/datasets.md for every dataset's factors, sizes, licence and source.
"""

from lps_eval.data import catalog  # noqa: F401  (registers the built-in datasets)
from lps_eval.data.arrays import ArrayImages, as_images, digits, from_array, from_file, load_images
from lps_eval.data.base import FactorDataset, FactorGrid, ImageSource
from lps_eval.data.downloads import DownloadError, DownloadResult, download, read_manifest
from lps_eval.data.procedural import (
    DSPRITES_FACTOR_NAMES,
    DSPRITES_FACTOR_SIZES,
    ProceduralDSprites,
    render_dsprites,
)
from lps_eval.data.registry import (
    DatasetSpec,
    RemoteFile,
    dataset_specs,
    get_dataset,
    get_spec,
    locate,
    resolve_data_dir,
)
from lps_eval.data.worlds import SyntheticWorld, render_world, world

__all__ = [
    "DSPRITES_FACTOR_NAMES",
    "DSPRITES_FACTOR_SIZES",
    "ArrayImages",
    "DatasetSpec",
    "DownloadError",
    "DownloadResult",
    "FactorDataset",
    "FactorGrid",
    "ImageSource",
    "ProceduralDSprites",
    "RemoteFile",
    "SyntheticWorld",
    "as_images",
    "dataset_specs",
    "digits",
    "download",
    "from_array",
    "from_file",
    "get_dataset",
    "get_spec",
    "load_images",
    "locate",
    "read_manifest",
    "render_dsprites",
    "render_world",
    "resolve_data_dir",
    "world",
]
