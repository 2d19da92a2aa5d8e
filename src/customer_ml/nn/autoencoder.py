"""Adversarially trained autoencoder (FGSM) with optional IDEC fine-tuning of encoder and centroids."""

from __future__ import annotations

import copy
import functools
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.exceptions import NotFittedError
from torch import nn

from customer_ml.nn.device import cpu_threads, resolve_device
from customer_ml.segmentation.config import AutoencoderConfig, DECConfig

Progress = Callable[[str], None] | None
F = TypeVar("F", bound=Callable[..., Any])

BLOCK_ROWS = 4_096
TAIL_ROWS = 512
"""The fitted network is applied to blocks of exactly BLOCK_ROWS rows: up to BLOCK_ROWS - TAIL_ROWS rows of
data, then zero rows whose outputs are dropped. A matrix product's BLAS kernel computes most rows alike
wherever they stand, but it chooses kernels by the number of rows, and not the last ones alike: one or
two rows take a matrix-vector path, and MKL's AVX2 kernels (what AMD CPUs and Intel CPUs without AVX-512
run) compute the rows of the last panels, up to about a hundred rows from the end, with other kernels
that sum in another order. Without the blocks a row's embedding or reconstruction error moved in its last
bits with the batch it came in, so rescoring only the new transactions (the daily build) could differ from
a full rebuild. One shape for every product, and data only where that shape's main kernel computes it,
makes every row's output the same bits whatever batch it comes in (tests/test_autoencoder.py checks it
under the CPU's own MKL kernels and under the AVX2 ones, a subprocess each). A tail of 64 rows after
batches of any size was not enough under AVX2: rows 94 from the end of 3,064 differed."""


def _blockwise(apply: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """apply(block) for the blocks of BLOCK_ROWS rows that hold x's rows: the outputs of x's rows."""
    rows = BLOCK_ROWS - TAIL_ROWS
    block = x.new_zeros((BLOCK_ROWS, x.shape[1]))
    out = []
    for start in range(0, x.shape[0], rows):
        part = x[start : start + rows]
        block[: len(part)] = part
        if len(part) < rows:
            block[len(part) :] = 0.0
        out.append(apply(block)[: len(part)])
    return torch.cat(out) if out else apply(block)[:0]


def _threaded(method: F) -> F:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with cpu_threads(getattr(self, "threads", None)):
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def require_determinism() -> None:
    """Require torch's deterministic algorithms. Nothing here seeds or draws from torch's process-wide
    generator: each fit initialises its network, and draws its batches and views, from generators of its
    own, so the fits dbt runs side by side in one process cannot interleave their draws."""
    torch.use_deterministic_algorithms(True)


def _linear(n_in: int, n_out: int, gen: torch.Generator) -> nn.Linear:
    """nn.Linear with torch's default initialisation (Kaiming-uniform weights, uniform biases, in that
    order) drawn from `gen` instead of the process-wide generator: the same weights as nn.Linear built
    right after torch.manual_seed of gen's seed, without touching the shared state."""
    layer = torch.nn.utils.skip_init(nn.Linear, n_in, n_out)
    with torch.no_grad():
        nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=gen)
        bound = 1.0 / math.sqrt(n_in) if n_in > 0 else 0.0
        layer.bias.uniform_(-bound, bound, generator=gen)
    return layer


def _mlp(sizes: list[int], gen: torch.Generator) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(_linear(sizes[i], sizes[i + 1], gen))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class AutoencoderNet(nn.Module):
    """Symmetric MLP autoencoder: `encoder` to the embedding, `decoder` back to the inputs."""

    def __init__(
        self,
        n_features: int,
        hidden: tuple[int, ...],
        embedding_dim: int,
        normalize: bool = False,
        seed: int = 0,
    ) -> None:
        """The initial weights are drawn from a generator seeded with `seed` (encoder then decoder)."""
        super().__init__()
        sizes = [n_features, *hidden, embedding_dim]
        gen = torch.Generator().manual_seed(seed)
        self.encoder = _mlp(sizes, gen)
        self.decoder = _mlp(sizes[::-1], gen)
        self.normalize = normalize

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The embedding the segments are built on: the encoder's output, on the unit sphere when the
        encoder is trained contrastively (its codes are compared by angle)."""
        z = self.encoder(x)
        return nn.functional.normalize(z, dim=1) if self.normalize else z

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(x)
        return (nn.functional.normalize(z, dim=1) if self.normalize else z), self.decoder(z)


def student_t(z: torch.Tensor, centroids: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """DEC soft assignment q_ij of embeddings to centroids (rows sum to 1)."""
    d2 = torch.cdist(z, centroids).pow(2)
    q = (1.0 + d2 / alpha).pow(-(alpha + 1.0) / 2.0)
    return q / q.sum(dim=1, keepdim=True)


def target_distribution(q: torch.Tensor) -> torch.Tensor:
    """DEC sharpened target p_ij = q_ij^2 / f_j, renormalised per row."""
    w = q.pow(2) / q.sum(dim=0)
    return w / w.sum(dim=1, keepdim=True)


def fgsm(x: torch.Tensor, loss_fn: Callable[[torch.Tensor], torch.Tensor], epsilon: float) -> torch.Tensor:
    """x + epsilon * sign(grad_x loss_fn(x)), detached: the FGSM perturbation of `x`."""
    x_req = x.detach().clone().requires_grad_(True)
    return fgsm_of(x_req, loss_fn(x_req), epsilon)


def fgsm_of(x: torch.Tensor, loss: torch.Tensor, epsilon: float) -> torch.Tensor:
    """The FGSM perturbation of the leaf `x` (which requires grad) against `loss`, a loss already computed
    from it: a training step reuses its own forward pass for the attack instead of running the network
    twice, and keeps the graph for the step's backward pass."""
    (grad,) = torch.autograd.grad(loss, x, retain_graph=True)
    return (x + epsilon * grad.sign()).detach()


def attack_leaf(x: torch.Tensor, attacked: bool) -> torch.Tensor:
    """`x` as a leaf that requires grad where the step attacks it with FGSM (see fgsm_of), else `x`."""
    return x.detach().clone().requires_grad_(True) if attacked else x


def scarf_view(x: torch.Tensor, rate: float, gen: torch.Generator) -> torch.Tensor:
    """A SCARF corruption of the batch x: each entry, with probability `rate`, is replaced by the same
    column's value in another random row of the batch (a draw from the feature's marginal)."""
    n, d = x.shape
    mask = torch.rand((n, d), generator=gen).to(x.device) < rate
    donors = torch.randint(0, n, (n, d), generator=gen).to(x.device)
    return torch.where(mask, torch.gather(x, 0, donors), x)


def info_nce(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE between two views' embeddings (row i of a and of b are the positive pair),
    on L2-normalised codes."""
    a = nn.functional.normalize(a, dim=1)
    b = nn.functional.normalize(b, dim=1)
    logits = a @ b.T / temperature
    target = torch.arange(len(a), device=a.device)
    return 0.5 * (nn.functional.cross_entropy(logits, target) + nn.functional.cross_entropy(logits.T, target))


def batch_size_for(n_rows: int, cfg: AutoencoderConfig) -> int:
    """`batch_size`, or larger when `max_batches_per_epoch` would otherwise be exceeded on `n_rows`."""
    if cfg.max_batches_per_epoch is None:
        return cfg.batch_size
    return max(cfg.batch_size, math.ceil(n_rows / cfg.max_batches_per_epoch))


class LossSums:
    """Row-weighted sums of an epoch's losses, kept on the training device and read once at the epoch's
    end: reading each step's losses as Python numbers would make a GPU wait for every step to finish.
    In float64, added in the same order as Python floats would be: the same figures on the CPU."""

    def __init__(self, n_losses: int, device: torch.device) -> None:
        self.sums = torch.zeros(n_losses, dtype=torch.float64, device=device)
        self.rows = 0

    def add(self, rows: int, *losses: torch.Tensor) -> None:
        self.sums += torch.stack([loss.detach() for loss in losses]).double() * rows
        self.rows += rows

    def means(self) -> list[float]:
        return [total / self.rows for total in self.sums.tolist()]


class EarlyStopping:
    """Early stopping of the autoencoder's pretraining, for the single-process fit and the data-parallel one
    (customer_ml.distributed.ddp): keeps the weights of the epoch with the lowest validation loss, and stops
    after cfg.patience epochs without a relative improvement of cfg.min_delta."""

    def __init__(self, net: nn.Module, cfg: AutoencoderConfig) -> None:
        self.net, self.cfg = net, cfg
        self.best, self.best_state = float("inf"), copy.deepcopy(net.state_dict())
        self.reference, self.bad = float("inf"), 0

    def should_stop(self, val: float) -> bool:
        """Records an epoch's validation loss; true when training should stop."""
        if val < self.best:
            self.best, self.best_state = val, copy.deepcopy(self.net.state_dict())
        if val < self.reference * (1.0 - self.cfg.min_delta):
            self.reference, self.bad = val, 0
            return False
        self.bad += 1
        return self.bad >= self.cfg.patience

    def finish(self, ae: AdversarialAutoencoder) -> None:
        """Restores the best epoch's weights into the fitted estimator and records how training ended."""
        self.net.load_state_dict(self.best_state)
        self.net.eval()
        ae.best_val_loss_ = self.best
        ae.n_epochs_ = len(ae.history_)
        ae.stopped_early_ = ae.n_epochs_ < self.cfg.max_epochs


class AdversarialAutoencoder:
    """Autoencoder trained on recon(x) + lambda * recon(FGSM(x) -> x), early-stopped on a validation split.

    `fit_dec` then fine-tunes encoder and centroids jointly (IDEC: KL(p||q) + reconstruction, with the
    FGSM term applied to both). With the same data, config and seed the weights are bit-identical on CPU.
    """

    def __init__(
        self,
        config: AutoencoderConfig | None = None,
        dec: DECConfig | None = None,
        seed: int = 0,
        device: str = "auto",
        threads: int | None = 1,
    ) -> None:
        self.config = config
        self.dec = dec
        self.seed = seed
        self.device = device
        self.threads = threads

    # -- helpers ---------------------------------------------------------------------------------------
    @property
    def _cfg(self) -> AutoencoderConfig:
        return self.config or AutoencoderConfig()

    def _check_fitted(self) -> None:
        if not hasattr(self, "net_"):
            raise NotFittedError("AdversarialAutoencoder is not fitted yet; call fit() first")

    def _recon(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return nn.functional.mse_loss(self.net_(x)[1], target)

    def _batches(self, n: int, gen: torch.Generator) -> list[torch.Tensor]:
        perm = torch.randperm(n, generator=gen)
        return list(torch.split(perm, batch_size_for(n, self._cfg)))

    # -- pretraining -----------------------------------------------------------------------------------
    @_threaded
    def fit(self, X: np.ndarray, progress: Progress = None) -> AdversarialAutoencoder:
        """Pretrain on the float matrix X with the adversarial reconstruction objective."""
        cfg = self._cfg
        require_determinism()
        self.device_ = resolve_device(self.device)
        gen = torch.Generator().manual_seed(self.seed)
        X_t = torch.as_tensor(np.ascontiguousarray(X, dtype=np.float32))
        n = X_t.shape[0]
        n_val = int(round(n * cfg.val_fraction)) if n >= 20 else 0
        perm = torch.randperm(n, generator=gen)
        val_idx, train_idx = perm[:n_val], perm[n_val:]
        X_train = X_t[train_idx].to(self.device_)
        X_val = X_t[val_idx].to(self.device_) if n_val else X_train
        self.n_features_in_ = int(X_t.shape[1])
        self.net_ = AutoencoderNet(
            self.n_features_in_, tuple(cfg.hidden), cfg.embedding_dim, cfg.contrastive_weight > 0, self.seed
        ).to(self.device_)
        params = list(self.net_.parameters())
        opt = torch.optim.Adam(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        attacked = cfg.attacks
        stopping = EarlyStopping(self.net_, cfg)
        self.history_: list[dict[str, float]] = []
        for epoch in range(1, cfg.max_epochs + 1):
            t0 = time.perf_counter()
            self.net_.train()
            sums = LossSums(3, self.device_)
            for idx in self._batches(X_train.shape[0], gen):
                xb = X_train[idx.to(self.device_)]
                x_in = attack_leaf(xb, attacked)
                loss = self._recon(x_in, xb)
                adv = torch.zeros((), device=self.device_)
                if attacked:
                    adv = self._recon(fgsm_of(x_in, loss, cfg.epsilon), xb)
                con = (
                    self._contrastive(xb, gen)
                    if cfg.contrastive_weight > 0
                    else torch.zeros((), device=self.device_)
                )
                opt.zero_grad(set_to_none=True)
                total = loss + cfg.adversarial_weight * adv + cfg.contrastive_weight * con
                total.backward(inputs=params)
                opt.step()
                sums.add(len(idx), loss, adv, con)
            val = self._eval_loss(X_val)
            train_loss, adversarial_loss, contrastive_loss = sums.means()
            rec = {
                "epoch": epoch,
                "train_loss": train_loss,
                "adversarial_loss": adversarial_loss,
                "contrastive_loss": contrastive_loss,
                "val_loss": val,
                "seconds": time.perf_counter() - t0,
            }
            self.history_.append(rec)
            if progress is not None:
                progress(
                    f"autoencoder epoch {epoch}: train_loss={rec['train_loss']:.5f} "
                    f"adversarial_loss={rec['adversarial_loss']:.5f} val_loss={val:.5f} "
                    f"seconds={rec['seconds']:.2f}"
                )
            if stopping.should_stop(val):
                break
        stopping.finish(self)
        return self

    def _contrastive(self, xb: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """InfoNCE between two SCARF views of the batch, plus (weighted like the reconstruction's) the
        same with one view pushed by FGSM to disagree with the other: adversarial contrastive learning,
        so the encoder keeps what tells customers apart and ignores small perturbations."""
        cfg = self._cfg
        enc = self.net_.encoder
        attacked = cfg.attacks
        v1 = attack_leaf(scarf_view(xb, cfg.corruption_rate, gen), attacked)
        v2 = scarf_view(xb, cfg.corruption_rate, gen)
        z2 = enc(v2)
        loss = info_nce(enc(v1), z2, cfg.temperature)
        if attacked:
            # The attack's gradient is the view's own: v2 does not depend on v1, so the loss's gradient
            # with respect to v1 is that of the loss against the detached other view.
            v1_adv = fgsm_of(v1, loss, cfg.epsilon)
            loss = loss + cfg.adversarial_weight * info_nce(enc(v1_adv), z2, cfg.temperature)
        return loss

    @torch.no_grad()
    def _eval_loss(self, X: torch.Tensor) -> float:
        """Validation loss: reconstruction error, plus the weighted InfoNCE of fixed SCARF views (chunks of
        one batch) when the encoder is trained contrastively, so early stopping watches both."""
        cfg = self._cfg
        self.net_.eval()
        total = 0.0
        for xb in torch.split(X, 8192):
            total += float(nn.functional.mse_loss(self.net_(xb)[1], xb, reduction="sum"))
        loss = total / max(1, X.numel())
        if cfg.contrastive_weight > 0 and len(X) > 1:
            gen = torch.Generator().manual_seed(self.seed + 99)
            parts, sizes = [], []
            for xb in torch.split(X, cfg.batch_size):
                if len(xb) < 2:
                    continue
                v1 = scarf_view(xb, cfg.corruption_rate, gen)
                v2 = scarf_view(xb, cfg.corruption_rate, gen)
                enc = self.net_.encoder
                parts.append(float(info_nce(enc(v1), enc(v2), cfg.temperature)) * len(xb))
                sizes.append(len(xb))
            if sizes:
                loss += cfg.contrastive_weight * sum(parts) / sum(sizes)
        return loss

    # -- IDEC fine-tuning ------------------------------------------------------------------------------
    @_threaded
    def fit_dec(
        self,
        X: np.ndarray,
        n_clusters: int,
        init_labels: np.ndarray | None = None,
        progress: Progress = None,
    ) -> AdversarialAutoencoder:
        """Fine-tune encoder and centroids with KL(p||q) + reconstruction (+ FGSM term) for n_clusters.

        Centroids start at the embedding means of `init_labels` when given, else at k-means on the embedding.
        """
        self._check_fitted()
        cfg, dcfg = self._cfg, self.dec or DECConfig()
        require_determinism()
        gen = torch.Generator().manual_seed(self.seed + 1)
        X_t = torch.as_tensor(np.ascontiguousarray(X, dtype=np.float32)).to(self.device_)
        z0 = self.transform(X)
        if init_labels is None:
            init_labels = KMeans(n_clusters=n_clusters, n_init=4, random_state=self.seed).fit_predict(z0)
        init_labels = np.asarray(init_labels)
        start = np.stack(
            [
                z0[init_labels == c].mean(axis=0) if (init_labels == c).any() else z0.mean(axis=0)
                for c in range(n_clusters)
            ]
        )
        mu = nn.Parameter(torch.as_tensor(start, dtype=torch.float32, device=self.device_))
        params = [*self.net_.encoder.parameters(), *self.net_.decoder.parameters(), mu]
        opt = torch.optim.Adam(params, lr=dcfg.learning_rate)
        attacked = cfg.attacks
        prev_labels = torch.as_tensor(init_labels, device=self.device_)
        self.dec_history_: list[dict[str, float]] = []
        p_all = None
        for epoch in range(1, dcfg.max_epochs + 1):
            t0 = time.perf_counter()
            if p_all is None or (epoch - 1) % dcfg.update_interval == 0:
                with torch.no_grad():
                    self.net_.eval()
                    q_all = torch.cat(
                        [student_t(self.net_.embed(xb), mu, dcfg.alpha) for xb in torch.split(X_t, 8192)]
                    )
                    p_all = target_distribution(q_all)
                    labels = q_all.argmax(dim=1)
                    confidence = float(q_all.max(dim=1).values.mean())
                    changed = float((labels != prev_labels).float().mean())
                    prev_labels = labels
                if epoch > 1 and changed < dcfg.tol:
                    if progress is not None:
                        progress(f"dec stop at epoch {epoch}: {changed:.4f} of assignments changed")
                    break
            self.net_.train()
            sums = LossSums(3, self.device_)
            for idx in self._batches(X_t.shape[0], gen):
                idx = idx.to(self.device_)
                xb, pb = X_t[idx], p_all[idx]

                def objective(
                    x: torch.Tensor, xb: torch.Tensor = xb, pb: torch.Tensor = pb
                ) -> tuple[torch.Tensor, torch.Tensor]:
                    """(reconstruction + weighted KL(p||q), the KL) of the inputs x against the batch xb."""
                    z, xr = self.net_(x)
                    q = student_t(z, mu, dcfg.alpha)
                    kl = (pb * (torch.log(pb + 1e-12) - torch.log(q + 1e-12))).sum(dim=1).mean()
                    return nn.functional.mse_loss(xr, xb) + dcfg.cluster_weight * kl, kl

                x_in = attack_leaf(xb, attacked)
                loss, kl = objective(x_in)
                adv = torch.zeros((), device=self.device_)
                if attacked:
                    adv = objective(fgsm_of(x_in, loss, cfg.epsilon))[0]
                if cfg.contrastive_weight > 0:
                    # The contrastive term stays on while fine-tuning: it keeps what tells customers
                    # apart, so the clustering term cannot press the embedding onto its first clustering.
                    loss = loss + cfg.contrastive_weight * self._contrastive(xb, gen)
                opt.zero_grad(set_to_none=True)
                (loss + cfg.adversarial_weight * adv).backward(inputs=params)
                opt.step()
                sums.add(len(idx), loss, kl, adv)
            train_loss, kl_loss, adversarial_loss = sums.means()
            rec = {
                "epoch": epoch,
                "train_loss": train_loss,
                "kl": kl_loss,
                "adversarial_loss": adversarial_loss,
                "confidence": confidence,
                "seconds": time.perf_counter() - t0,
            }
            self.dec_history_.append(rec)
            if progress is not None:
                progress(
                    f"dec epoch {epoch}: train_loss={rec['train_loss']:.5f} kl={rec['kl']:.5f} "
                    f"adversarial_loss={rec['adversarial_loss']:.5f} seconds={rec['seconds']:.2f}"
                )
        self.net_.eval()
        self.centroids_ = mu.detach().cpu().numpy().astype(np.float32)
        self.n_clusters_ = n_clusters
        return self

    # -- applying --------------------------------------------------------------------------------------
    @_threaded
    @torch.no_grad()
    def transform(self, X: np.ndarray, batch_size: int = 65_536) -> np.ndarray:
        """Embeddings (float32, n x embedding_dim) of the rows of X."""
        self._check_fitted()
        self.net_.eval()
        out = []
        for start in range(0, X.shape[0], batch_size):
            xb = torch.as_tensor(np.ascontiguousarray(X[start : start + batch_size], dtype=np.float32))
            out.append(_blockwise(self.net_.embed, xb.to(self.device_)).cpu().numpy())
        if not out:
            return np.zeros((0, self._cfg.embedding_dim), dtype=np.float32)
        return np.concatenate(out)

    @_threaded
    @torch.no_grad()
    def reconstruction_error(
        self, X: np.ndarray, target: np.ndarray | None = None, batch_size: int = 65_536
    ) -> np.ndarray:
        """Per-row mean squared error between the reconstruction of X and `target` (default X itself)."""
        self._check_fitted()
        self.net_.eval()
        out = []

        def rows(M: np.ndarray, start: int) -> torch.Tensor:
            # A row-major float32 batch (a copy only where M is column-major or of another type).
            return torch.as_tensor(np.ascontiguousarray(M[start : start + batch_size], dtype=np.float32))

        for start in range(0, X.shape[0], batch_size):
            xb = rows(X, start)
            tb = xb if target is None else rows(target, start)
            xb, tb = xb.to(self.device_), tb.to(self.device_)
            xr = _blockwise(lambda block: self.net_(block)[1], xb)
            out.append(((xr - tb) ** 2).mean(dim=1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    @_threaded
    def perturb(self, X: np.ndarray, epsilon: float | None = None) -> np.ndarray:
        """FGSM perturbation of X against the reconstruction loss (max-norm epsilon)."""
        self._check_fitted()
        eps = self._cfg.epsilon if epsilon is None else epsilon
        xb = torch.as_tensor(np.ascontiguousarray(X, dtype=np.float32)).to(self.device_)
        self.net_.eval()
        x_adv = fgsm(xb, lambda x: nn.functional.mse_loss(self.net_(x)[1], xb, reduction="sum"), eps)
        return x_adv.cpu().numpy()
