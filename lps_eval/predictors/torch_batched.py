"""All d leave-one-out MLP regressors of LPS trained at once, as one batched torch model.

LPS (Fruytier et al., arXiv 2510.11953) fits, for every latent dimension ``i``, a
regressor :math:`f_i` that predicts :math:`z_i` from :math:`z_{-i}`. With a nonlinear
model that is normally a Python loop of ``d`` separate fits. Here the ``d`` MLPs are
*heads* of one model whose weights carry a leading head axis, so one forward pass is a
handful of batched matrix products (``baddbmm``) over all heads:

.. math::

    h^{(1)}_{i} = \\mathrm{relu}\\big(x \\, (W^{(1)}_{i} \\odot m_{i}) + b^{(1)}_{i}\\big),
    \\qquad m_{ij} = 1 - \\delta_{ij},

    h^{(k)}_{i} = \\mathrm{relu}\\big(h^{(k-1)}_{i} W^{(k)}_{i} + b^{(k)}_{i}\\big),
    \\qquad \\hat z_i = h^{(L)}_{i} w^{(o)}_{i} + b^{(o)}_{i}.

The mask :math:`m = 1 - I` multiplies head ``i``'s first-layer weights from input ``i``
by zero in every forward pass, so head ``i`` is blind to its own target (exactly: its
output does not change when column ``i`` changes). The loss is the sum over heads of
the per-head mean squared error, :math:`\\sum_i \\frac{1}{B} \\sum_b (\\hat z_{bi} -
z_{bi})^2`. Heads share no parameters and Adam's update is element-wise, so the joint
fit is the same as ``d`` independent fits that see the same minibatch sequence. Early
stopping uses that independence too: each head keeps its own best validation weights,
and a head that has not improved for ``patience`` epochs is dropped from the batch (its
Adam moments are sliced away with it), so the compute spent is the sum of the heads'
own training lengths, as in a loop of ``d`` early-stopped fits, not ``d`` times the
longest one.

Prior art: NashAE (Yeats et al., ECCV 2022) trains one small MLP per latent to predict
it from the others with that element zeroed; the same masking idea, used here for
evaluation rather than as a training signal.

PyTorch is optional: it is imported only when this predictor is built or used.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

from lps_eval._random import make_rng
from lps_eval._validation import LpsInputError, check_fraction, check_positive_int

__all__ = ["TorchBatchedPredictor"]

_MISSING_TORCH = "predictor 'torch' needs PyTorch: pip install 'lps-eval[torch]'"
# Upper bound on the floats of one (heads x rows x max(hidden, d)) block at predict time.
_PREDICT_BLOCK = 2**24


def _import_torch():
    """Import torch on demand, or raise the one-line install hint."""
    try:
        import torch
    except ImportError:
        raise LpsInputError(_MISSING_TORCH) from None
    return torch


def _check_nonnegative_float(value: Any, *, name: str, positive: bool) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise LpsInputError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(v) or v < 0 or (positive and v == 0):
        bound = "> 0" if positive else ">= 0"
        raise LpsInputError(f"{name} must be a finite number {bound}, got {value!r}")
    return v


class TorchBatchedPredictor:
    """Batched MLP predictor for LPS: ``d`` masked heads trained as one torch model.

    Parameters
    ----------
    hidden : int
        Units in each hidden layer of each head.
    layers : int
        Number of hidden layers per head (ReLU after each).
    epochs : int
        Maximum number of passes over the training rows.
    batch_size : int
        Rows per minibatch (capped at the number of fitting rows).
    lr : float
        Adam learning rate.
    weight_decay : float
        Adam (L2) weight decay.
    device : str
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``
        or ``"mps"``. Computation is float32 on every device.
    early_stopping : bool
        Hold out ``validation_fraction`` of the training rows (seeded split), keep the
        best validation weights of each head and stop training a head once its
        validation MSE has not decreased by more than ``tol`` for ``patience`` epochs.
        If False, all ``epochs`` are run and the final weights are used.
    validation_fraction : float
        Fraction of training rows held out for early stopping, in (0, 1).
    patience : int
        Epochs without improvement of any head before stopping.
    tol : float
        Minimum decrease of a head's validation MSE that counts as an improvement.
    threads : int or None, default 1
        CPU threads for the fit (restored afterwards); None keeps torch's setting.

    Notes
    -----
    ``fit_predict(train, test, seed=s)`` is deterministic on CPU for a given ``s``: the
    validation split comes from ``numpy.random.default_rng(s)``, the weight initialisation
    and the minibatch order from ``torch.Generator`` objects seeded from it, and the global
    torch generator is seeded with ``s`` inside :func:`torch.random.fork_rng` (so the
    caller's global torch state is left untouched). Predictions are float64 numpy arrays.
    After a fit, ``fit_info_`` records the device used, the epochs each head trained
    (``head_epochs``) and the epoch of its kept weights (``best_epoch``).
    """

    name = "torch"

    def __init__(
        self,
        *,
        hidden: int = 64,
        layers: int = 2,
        epochs: int = 200,
        batch_size: int = 256,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        device: str = "auto",
        early_stopping: bool = True,
        validation_fraction: float = 0.1,
        patience: int = 10,
        tol: float = 1e-4,
        threads: int | None = 1,
    ) -> None:
        if importlib.util.find_spec("torch") is None:
            raise LpsInputError(_MISSING_TORCH)
        self.hidden = check_positive_int(hidden, name="hidden")
        self.layers = check_positive_int(layers, name="layers")
        self.epochs = check_positive_int(epochs, name="epochs")
        self.batch_size = check_positive_int(batch_size, name="batch_size")
        self.lr = _check_nonnegative_float(lr, name="lr", positive=True)
        self.weight_decay = _check_nonnegative_float(
            weight_decay, name="weight_decay", positive=False
        )
        if not isinstance(device, str) or not device:
            raise LpsInputError(
                f"device must be a string such as 'auto', 'cpu' or 'cuda', got {device!r}"
            )
        self.device = device
        if not isinstance(early_stopping, (bool, np.bool_)):
            raise LpsInputError(f"early_stopping must be True or False, got {early_stopping!r}")
        self.early_stopping = bool(early_stopping)
        self.validation_fraction = check_fraction(validation_fraction, name="validation_fraction")
        self.patience = check_positive_int(patience, name="patience")
        self.tol = _check_nonnegative_float(tol, name="tol", positive=False)
        # CPU threads during the fit: torch's default (all cores) is 10-20x slower per step
        # on busy cores (measured on 2 cores); None keeps torch's own setting.
        self.threads = None if threads is None else check_positive_int(threads, name="threads")
        self.fit_info_: dict[str, Any] = {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings().items() if k != "predictor")
        return f"TorchBatchedPredictor({args})"

    def settings(self) -> dict[str, Any]:
        """Hyper-parameters to record with the results (JSON-serializable)."""
        return {
            "predictor": self.name,
            "hidden": self.hidden,
            "layers": self.layers,
            "activation": "relu",
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "optimizer": "adam",
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "device": self.device,
            "dtype": "float32",
            "early_stopping": self.early_stopping,
            "validation_fraction": self.validation_fraction,
            "patience": self.patience,
            "tol": self.tol,
            "threads": self.threads,
        }

    # ------------------------------------------------------------------ helpers
    def _resolve_device(self, torch):
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            dev = torch.device(self.device)
        except (RuntimeError, ValueError):
            raise LpsInputError(
                f"device {self.device!r} is not a torch device; use 'auto', 'cpu' or 'cuda'"
            ) from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise LpsInputError(
                f"device {self.device!r} requested but CUDA is not available; use "
                "device='auto' or 'cpu'"
            )
        if dev.type == "mps" and not (
            hasattr(torch.backends, "mps") and torch.backends.mps.is_available()
        ):
            raise LpsInputError(
                f"device {self.device!r} requested but MPS is not available; use "
                "device='auto' or 'cpu'"
            )
        return dev

    def _init_params(self, torch, d: int, gen) -> list:
        """Per-head uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) init (torch.nn.Linear style)."""
        h = self.hidden
        shapes = [((d, d, h), (d, 1, h), max(d - 1, 1))]
        shapes += [((d, h, h), (d, 1, h), h)] * (self.layers - 1)
        shapes += [((d, h, 1), (d, 1, 1), h)]
        params = []
        for w_shape, b_shape, fan_in in shapes:
            bound = 1.0 / np.sqrt(fan_in)
            for shape in (w_shape, b_shape):
                t = torch.rand(shape, generator=gen, dtype=torch.float32) * (2 * bound) - bound
                params.append(t)
        return params

    @staticmethod
    def _forward(torch, params: list, mask, x):
        """Predictions of all heads for rows ``x`` (B, d): returns (B, d).

        Every layer is one batched matrix product over the head axis; the first one
        multiplies the rows, broadcast to every head without a copy, by the masked
        weights (heads, d_in, h).
        """
        w1, b1 = params[0], params[1]
        a = torch.relu(torch.baddbmm(b1, x.expand(w1.shape[0], *x.shape), w1 * mask))
        rest = params[2:]
        for k in range(0, len(rest) - 2, 2):
            a = torch.relu(torch.baddbmm(rest[k + 1], a, rest[k]))
        out = torch.baddbmm(rest[-1], a, rest[-2])  # (heads, B, 1)
        return out[:, :, 0].T

    def _predict(self, torch, params, mask, x):
        heads, d_in, _ = params[0].shape
        rows = max(1, _PREDICT_BLOCK // (heads * max(self.hidden, d_in)))
        with torch.no_grad():
            return torch.cat(
                [
                    self._forward(torch, params, mask, x[s : s + rows])
                    for s in range(0, len(x), rows)
                ]
            )

    # ------------------------------------------------------------------ fit
    def fit_predict(self, train: np.ndarray, test: np.ndarray, *, seed: int) -> np.ndarray:
        """Fit the ``d`` masked heads on ``train`` and predict every column of ``test``.

        Parameters
        ----------
        train, test : ndarray of shape (n_train, d) and (n_test, d)
            Standardized latents (the caller standardizes), ``d >= 2``.
        seed : int
            Seeds the validation split, the initialisation and the minibatch order.

        Returns
        -------
        ndarray of shape (n_test, d), float64
            Column ``i`` is head ``i``'s prediction of ``test[:, i]`` from the other columns.
        """
        torch = _import_torch()
        rng = make_rng(seed)
        train = np.asarray(train)
        test = np.asarray(test)
        if train.ndim != 2 or test.ndim != 2 or train.shape[1] != test.shape[1]:
            raise LpsInputError(
                f"train {train.shape} and test {test.shape} must be 2-D with the same number "
                "of columns"
            )
        n, d = train.shape
        if d < 2:
            raise LpsInputError(
                f"the torch predictor needs at least 2 dimensions, got {d}; LPS predicts each "
                "dimension from the others"
            )
        if n < 2:
            raise LpsInputError(f"the torch predictor needs at least 2 training rows, got {n}")
        device = self._resolve_device(torch)
        fork_devices = [device.index or 0] if device.type == "cuda" else []
        previous_threads = torch.get_num_threads()
        if self.threads is not None and device.type == "cpu":
            torch.set_num_threads(self.threads)
        try:
            with torch.random.fork_rng(devices=fork_devices):
                torch.manual_seed(int(seed))
                return self._fit_predict(torch, train, test, rng, device)
        finally:
            torch.set_num_threads(previous_threads)

    def _fit_predict(self, torch, train, test, rng, device) -> np.ndarray:
        n, d = train.shape
        order = rng.permutation(n)
        if self.early_stopping:
            n_val = min(max(1, round(self.validation_fraction * n)), n - 1)
        else:
            n_val = 0
        init_seed, batch_seed = (int(s) for s in rng.integers(0, 2**62, size=2))
        gen_init = torch.Generator().manual_seed(init_seed)
        gen_batch = torch.Generator().manual_seed(batch_seed)

        x_all = torch.as_tensor(np.ascontiguousarray(train, dtype=np.float32))
        x_fit = x_all[torch.as_tensor(order[n_val:])].to(device)
        x_val = x_all[torch.as_tensor(order[:n_val])].to(device) if n_val else None
        mask = (1.0 - torch.eye(d, dtype=torch.float32)).unsqueeze(-1).to(device)
        # ``best`` holds every head's kept weights; ``params`` only the heads still training.
        best = [p.to(device) for p in self._init_params(torch, d, gen_init)]
        params = [p.clone().requires_grad_(True) for p in best]
        opt = torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)

        active = np.arange(d)  # heads still training
        active_t = torch.as_tensor(active, device=device)
        n_fit = x_fit.shape[0]
        bs = min(self.batch_size, n_fit)
        best_loss = np.full(d, np.inf)
        best_epoch = np.zeros(d, dtype=int)
        head_epochs = np.zeros(d, dtype=int)
        stale = np.zeros(d, dtype=int)
        for epoch in range(self.epochs):
            perm = torch.randperm(n_fit, generator=gen_batch).to(device)
            mask_a = mask[active_t]
            for s in range(0, n_fit, bs):
                xb = x_fit[perm[s : s + bs]]
                pred = self._forward(torch, params, mask_a, xb)
                loss = ((pred - xb[:, active_t]) ** 2).mean(dim=0).sum()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            head_epochs[active] = epoch + 1
            if x_val is None:
                continue
            val_pred = self._predict(torch, params, mask_a, x_val)
            val_loss = ((val_pred - x_val[:, active_t]) ** 2).mean(dim=0).cpu().numpy()
            improved = val_loss < best_loss[active] - self.tol
            heads = active[improved]
            best_loss[heads] = val_loss[improved]
            best_epoch[heads] = epoch + 1
            stale[heads] = 0
            stale[active[~improved]] += 1
            if improved.any():
                sel = torch.as_tensor(np.flatnonzero(improved), device=device)
                with torch.no_grad():
                    for b, p in zip(best, params, strict=True):
                        b[active_t[sel]] = p[sel]
            done = stale[active] >= self.patience
            if done.all():
                break
            if done.any():  # stop training converged heads: drop them from the batch
                keep = torch.as_tensor(np.flatnonzero(~done), device=device)
                params, opt = self._keep_heads(torch, params, opt, keep)
                active = active[~done]
                active_t = torch.as_tensor(active, device=device)
        if x_val is None:
            best = [p.detach() for p in params]
        x_test = torch.as_tensor(np.ascontiguousarray(test, dtype=np.float32)).to(device)
        out = self._predict(torch, best, mask, x_test)
        self.fit_info_ = {
            "device": str(device),
            "epochs_run": int(head_epochs.max()),
            "head_epochs": head_epochs.tolist(),
            "best_epoch": best_epoch.tolist() if x_val is not None else None,
            "n_fit": int(n_fit),
            "n_val": int(n_val),
        }
        return out.cpu().numpy().astype(np.float64)

    def _keep_heads(self, torch, params, opt, keep):
        """Slice parameters and Adam moments to the heads in ``keep`` (a new optimizer).

        Heads share nothing, so this leaves the remaining heads' trajectories unchanged.
        """
        new_params = [p.detach()[keep].clone().requires_grad_(True) for p in params]
        new_opt = torch.optim.Adam(new_params, lr=self.lr, weight_decay=self.weight_decay)
        for old, new in zip(params, new_params, strict=True):
            state = opt.state.get(old)
            if state:
                new_opt.state[new] = {
                    k: (v[keep] if v.dim() > 0 else v).clone() if torch.is_tensor(v) else v
                    for k, v in state.items()
                }
        return new_params, new_opt
