"""The dataset interface: images by index, ground-truth factors, the factor grid.

Every dataset is an :class:`ImageSource` (the contract the reference trainer trains on):
``name``, ``n_images``, ``image_shape`` (C, H, W), ``factor_names``, ``images(index)``
(float32 in [0, 1], shape (n, C, H, W)), ``factors(index)``, ``sample_index`` and
``eval_index``. A *factor dataset* (:class:`FactorDataset`) is one whose images are the
cells of a full product grid of discrete factors (:class:`FactorGrid`), image ``i`` being
the cell with codes ``numpy.unravel_index(i, grid.sizes)``. It adds ``factor_sizes``,
``index_of(codes)`` and a fixed-factor sampler (:meth:`FactorDataset.sample_fixed`): the
intervention that BetaVAE, FactorVAE and IRS are defined by (Higgins et al. 2017; Kim &
Mnih 2018; Suter et al. 2019), drawn exactly as disentanglement_lib's
``sample_factors`` + ``sample_observations_from_factors`` do.

Some grids carry a *nuisance* factor that is part of the grid but not of the ground
truth (SmallNORB's object instance, as in disentanglement_lib): ``factor_columns`` names
the grid columns that are factors; the others are drawn uniformly by the samplers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lps_eval._validation import LpsInputError

__all__ = ["FactorDataset", "FactorGrid", "ImageSource"]


@dataclass(frozen=True)
class ImageSource:
    """A finite, indexable set of images with optional ground-truth factors.

    Subclasses implement :meth:`images` (and :meth:`factors` when factors exist).
    """

    name: str
    n_images: int
    image_shape: tuple[int, int, int]  # (C, H, W)
    factor_names: tuple[str, ...] | None = None

    def images(self, index: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Images at integer ``index``, float32 in [0, 1], shape (len(index), C, H, W)."""
        raise NotImplementedError

    def factors(self, index: np.ndarray) -> np.ndarray | None:
        """Ground-truth factors at ``index`` (n, n_factors), or None."""
        return None

    def sample_index(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` indices drawn uniformly with replacement (training batches)."""
        return rng.integers(0, self.n_images, size=n)

    def eval_index(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """A fixed evaluation set: ``n`` distinct indices (all images if fewer exist)."""
        if n >= self.n_images:
            return np.arange(self.n_images)
        return np.sort(rng.choice(self.n_images, size=n, replace=False))


@dataclass(frozen=True)
class FactorGrid:
    """A full product grid of discrete factors, in C (row-major) order.

    Attributes
    ----------
    names : tuple of str
        One name per grid column.
    sizes : tuple of int
        Number of values of each column; the grid has ``prod(sizes)`` cells.
    values : tuple of arrays, optional
        The physical value of each code (e.g. the x position in pixels), per column.
    """

    names: tuple[str, ...]
    sizes: tuple[int, ...]
    values: tuple[np.ndarray, ...] | None = None

    def __post_init__(self) -> None:
        if len(self.names) != len(self.sizes) or not self.sizes:
            raise LpsInputError(
                f"a factor grid needs one name per size, got {self.names} and {self.sizes}"
            )
        if any(int(s) < 1 for s in self.sizes):
            raise LpsInputError(f"factor sizes must be positive, got {self.sizes}")
        if self.values is not None and [len(v) for v in self.values] != list(self.sizes):
            raise LpsInputError("factor values must list one value per code of each factor")

    @property
    def n_cells(self) -> int:
        """Number of grid cells, ``prod(sizes)``."""
        return int(np.prod(np.asarray(self.sizes, dtype=np.int64)))

    def index_of(self, codes: np.ndarray) -> np.ndarray:
        """Row index of each row of integer ``codes`` (n, n_columns): the C-order ravel."""
        codes = np.asarray(codes)
        if codes.ndim != 2 or codes.shape[1] != len(self.sizes):
            raise LpsInputError(
                f"factor codes must have shape (n, {len(self.sizes)}), got {codes.shape}"
            )
        if codes.dtype.kind not in "iu":
            if not np.all(np.mod(codes, 1) == 0):
                raise LpsInputError("factor codes must be whole numbers (0 .. size - 1)")
            codes = codes.astype(np.int64)
        bad = (codes < 0) | (codes >= np.asarray(self.sizes))
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise LpsInputError(
                f"factor code {int(codes[row, col])} of {self.names[col]!r} (row {row}) is "
                f"outside 0..{self.sizes[col] - 1}"
            )
        return np.ravel_multi_index(tuple(codes.T), self.sizes).astype(np.int64)

    def codes_of(self, index: np.ndarray) -> np.ndarray:
        """Integer codes (n, n_columns) of grid rows ``index``."""
        index = np.asarray(index, dtype=np.int64)
        return np.stack(np.unravel_index(index, self.sizes), axis=1).astype(np.int64)

    def sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` cells drawn uniformly (each column independently)."""
        return np.stack([rng.integers(0, s, size=n) for s in self.sizes], axis=1)


@dataclass(frozen=True)
class FactorDataset(ImageSource):
    """Images that are the cells of a :class:`FactorGrid` (image ``i`` = cell ``i``).

    ``factor_columns`` selects the grid columns that are ground-truth factors (default:
    all); the rest are nuisances, drawn uniformly when sampling.
    """

    grid: FactorGrid = field(default_factory=lambda: FactorGrid(("f",), (1,)))
    factor_columns: tuple[int, ...] | None = None

    @property
    def columns(self) -> tuple[int, ...]:
        """Grid columns that are factors."""
        if self.factor_columns is None:
            return tuple(range(len(self.grid.sizes)))
        return tuple(self.factor_columns)

    @property
    def factor_sizes(self) -> tuple[int, ...]:
        """Number of values of each factor, in the order of ``factor_names``."""
        return tuple(int(self.grid.sizes[c]) for c in self.columns)

    def factors(self, index: np.ndarray) -> np.ndarray:
        """Integer factor codes (n, n_factors) of images ``index``."""
        return self.grid.codes_of(index)[:, list(self.columns)]

    def index_of(self, codes: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Image index of each row of factor ``codes``.

        ``codes`` has one column per factor (nuisance columns are then drawn uniformly
        from ``rng``, which is required when the grid has any) or one per grid column.
        """
        codes = np.asarray(codes)
        cols = self.columns
        if codes.ndim == 2 and codes.shape[1] == len(self.grid.sizes):
            return self.grid.index_of(codes)
        if codes.ndim != 2 or codes.shape[1] != len(cols):
            raise LpsInputError(
                f"{self.name}: factor codes must have shape (n, {len(cols)}), got {codes.shape}"
            )
        if rng is None:
            raise LpsInputError(
                f"{self.name} has nuisance factors; pass rng= to draw them (or full grid codes)"
            )
        full = self.grid.sample_codes(codes.shape[0], rng)
        full[:, list(cols)] = codes
        return self.grid.index_of(full)

    def sample_fixed(
        self,
        n_batches: int,
        batch_size: int,
        rng: np.random.Generator,
        *,
        factor: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Batches of images that share the value of one factor, the rest drawn uniformly.

        For each batch: a factor ``k`` (``factor``, or uniform over the factors), one value
        ``v`` uniform over its codes, and ``batch_size`` cells whose other columns are
        drawn independently and uniformly, with column ``k`` set to ``v``. On a product
        grid this is exactly sampling observations under the intervention ``do(v_k = v)``.

        Returns
        -------
        (factor, index) : arrays of shapes (n_batches,) and (n_batches, batch_size)
        """
        cols = np.asarray(self.columns)
        if factor is None:
            which = rng.integers(0, cols.size, size=n_batches)
        else:
            if not 0 <= int(factor) < cols.size:
                raise LpsInputError(f"factor must be in 0..{cols.size - 1}, got {factor}")
            which = np.full(n_batches, int(factor))
        codes = self.grid.sample_codes(n_batches * batch_size, rng).reshape(
            n_batches, batch_size, -1
        )
        sizes = np.asarray(self.grid.sizes)[cols[which]]
        value = np.floor(rng.random(n_batches) * sizes).astype(np.int64)
        codes[np.arange(n_batches), :, cols[which]] = value[:, None]
        index = self.grid.index_of(codes.reshape(-1, codes.shape[2]))
        return which, index.reshape(n_batches, batch_size)
