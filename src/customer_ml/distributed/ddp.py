"""Data-parallel pretraining of the segmentation autoencoder with torch DistributedDataParallel.

`fit_autoencoder_ddp` trains what `AdversarialAutoencoder.fit` trains (the same network, objective,
batches, validation split and early stopping) in `world_size` processes: each global batch is cut into
one contiguous shard per process; each process runs the forward and backward pass of its shard, and DDP
averages the gradients (gloo: the training runs on CPUs here; GPUs would take nccl and a device per
process, not written yet). The step is the single-process step, not an
approximation of it:

- the reconstruction and adversarial (FGSM) terms are sums over rows, so each process adds its rows'
  share of the batch mean (FGSM's perturbation of a row depends on that row alone);
- the contrastive term (InfoNCE, every other row of the batch is a negative) needs the whole batch's
  codes: each process gathers the others' codes (without gradient) and computes the batch's loss, whose
  gradient then reaches the parameters through its own rows only; the SCARF views are drawn from the
  whole batch with the shared seeded generator, exactly as in one process;
- each process's loss is multiplied by world_size, undoing DDP's average, so the summed gradient is the
  batch's.

What differs is the order floats are added in (the all-reduce), so the weights agree with one process's to
rounding, which training can amplify a little: tests/test_distributed.py measures it (loss curves and the
segments of the two embeddings). Launch with `fit_autoencoder_ddp` (torch.multiprocessing, one machine) or
with torchrun on one or more machines (`python -m customer_ml.distributed.ddp --help`).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from customer_ml.nn.autoencoder import (
    AdversarialAutoencoder,
    AutoencoderNet,
    EarlyStopping,
    LossSums,
    Progress,
    attack_leaf,
    fgsm_of,
    info_nce,
    require_determinism,
    scarf_view,
)
from customer_ml.segmentation.config import AutoencoderConfig


def _gather_rows(own: torch.Tensor, sizes: list[int], rank: int) -> torch.Tensor:
    """The whole batch's rows from every process's shard (shard sizes `sizes`, in rank order): the
    others' rows without gradient, this process's own rows as they are (with their gradient)."""
    width = max(sizes)
    padded = torch.cat([own.detach(), own.new_zeros((width - own.shape[0], *own.shape[1:]))])
    gathered = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(gathered, padded)
    return torch.cat([own if r == rank else gathered[r][: sizes[r]] for r in range(len(sizes))])


class _ShardObjective(nn.Module):
    """One process's part of the autoencoder's training objective on a batch (what DDP wraps)."""

    def __init__(self, net: AutoencoderNet, config: AutoencoderConfig, rank: int, world_size: int) -> None:
        super().__init__()
        self.net = net
        self.config = config
        self.rank = rank
        self.world_size = world_size

    def forward(
        self, xb: torch.Tensor, v1: torch.Tensor, v2: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(this process's loss, [its share of the batch's reconstruction loss, of the adversarial loss,
        the batch's contrastive loss]) for the batch xb and its two SCARF views (whole batch each)."""
        cfg, rank = self.config, self.rank
        sizes = [len(part) for part in torch.tensor_split(torch.arange(len(xb)), self.world_size)]
        start = sum(sizes[:rank])
        own = slice(start, start + sizes[rank])
        x = xb[own]
        elements = xb.numel()

        def recon_share(inputs: torch.Tensor) -> torch.Tensor:
            return ((self.net(inputs)[1] - x) ** 2).sum() / elements

        # The attacks take their input gradients from this step's own forward passes (fgsm_of), as the
        # one-process loop does: the network runs once per view, not again for each attack.
        x_in = attack_leaf(x, cfg.attacks)
        loss = recon_share(x_in)
        adv = torch.zeros(())
        if cfg.attacks:
            adv = recon_share(fgsm_of(x_in, loss, cfg.epsilon))
        con = torch.zeros(())
        if cfg.contrastive_weight > 0:
            enc = self.net.encoder
            v1_own = attack_leaf(v1[own], cfg.attacks)
            z2 = _gather_rows(enc(v2[own]), sizes, rank)
            z1 = _gather_rows(enc(v1_own), sizes, rank)
            con = info_nce(z1, z2, cfg.temperature)
            if cfg.attacks:
                # The other processes' rows arrive without a gradient path and v2 does not depend on v1:
                # the loss's gradient with respect to this process's rows of v1 is its attack's.
                v1_adv = fgsm_of(v1_own, con, cfg.epsilon)
                con = con + cfg.adversarial_weight * info_nce(
                    _gather_rows(enc(v1_adv), sizes, rank), z2, cfg.temperature
                )
        total = loss + cfg.adversarial_weight * adv + cfg.contrastive_weight * con
        stats = torch.stack([loss.detach(), adv.detach(), con.detach() / self.world_size])
        return total * self.world_size, stats


def _train(
    X: np.ndarray, config: AutoencoderConfig, seed: int, rank: int, world_size: int, progress: Progress
) -> AdversarialAutoencoder:
    """AdversarialAutoencoder.fit's loop, this process's part of it (the process group is up)."""
    cfg = config
    require_determinism()
    gen = torch.Generator().manual_seed(seed)
    X_t = torch.as_tensor(np.ascontiguousarray(X, dtype=np.float32))
    n = X_t.shape[0]
    n_val = int(round(n * cfg.val_fraction)) if n >= 20 else 0
    perm = torch.randperm(n, generator=gen)
    X_train = X_t[perm[n_val:]]
    X_val = X_t[perm[:n_val]] if n_val else X_train
    # The estimator that holds the result, whose helpers (batches, validation loss) the loop shares.
    ae = AdversarialAutoencoder(cfg, seed=seed, device="cpu", threads=None)
    ae.device_ = torch.device("cpu")
    ae.n_features_in_ = int(X_t.shape[1])
    ae.net_ = AutoencoderNet(
        ae.n_features_in_, tuple(cfg.hidden), cfg.embedding_dim, cfg.contrastive_weight > 0, seed
    )
    model = DistributedDataParallel(_ShardObjective(ae.net_, cfg, rank, world_size))
    params = list(ae.net_.parameters())
    opt = torch.optim.Adam(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    stopping = EarlyStopping(ae.net_, cfg)
    ae.history_ = []
    for epoch in range(1, cfg.max_epochs + 1):
        t0 = time.perf_counter()
        ae.net_.train()
        sums = LossSums(3, torch.device("cpu"))
        for idx in ae._batches(X_train.shape[0], gen):
            xb = X_train[idx]
            if cfg.contrastive_weight > 0:
                v1 = scarf_view(xb, cfg.corruption_rate, gen)
                v2 = scarf_view(xb, cfg.corruption_rate, gen)
            else:
                v1 = v2 = xb
            total, stats = model(xb, v1, v2)
            opt.zero_grad(set_to_none=True)
            total.backward(inputs=params)  # the parameters only, not the attacked inputs
            opt.step()
            dist.all_reduce(stats)
            sums.add(len(idx), *stats.unbind())
        val = ae._eval_loss(X_val)
        train_loss, adversarial_loss, contrastive_loss = sums.means()
        rec = {
            "epoch": epoch,
            "train_loss": train_loss,
            "adversarial_loss": adversarial_loss,
            "contrastive_loss": contrastive_loss,
            "val_loss": val,
            "seconds": time.perf_counter() - t0,
        }
        ae.history_.append(rec)
        if progress is not None and rank == 0:
            progress(
                f"autoencoder epoch {epoch} ({world_size} processes): train_loss={rec['train_loss']:.5f} "
                f"val_loss={val:.5f} seconds={rec['seconds']:.2f}"
            )
        if stopping.should_stop(val):
            break
    stopping.finish(ae)
    return ae


def _result(ae: AdversarialAutoencoder) -> dict[str, Any]:
    return {
        "state": ae.net_.state_dict(),
        "n_features_in": ae.n_features_in_,
        "history": ae.history_,
        "best_val_loss": ae.best_val_loss_,
    }


def _from_result(
    result: dict[str, Any], config: AutoencoderConfig, seed: int, threads: int | None
) -> AdversarialAutoencoder:
    """The fitted estimator from what rank 0 saved (the weights are the same in every process)."""
    ae = AdversarialAutoencoder(config, seed=seed, device="cpu", threads=threads)
    ae.device_ = torch.device("cpu")
    ae.n_features_in_ = int(result["n_features_in"])
    ae.net_ = AutoencoderNet(
        ae.n_features_in_, tuple(config.hidden), config.embedding_dim, config.contrastive_weight > 0
    )
    ae.net_.load_state_dict(result["state"])
    ae.net_.eval()
    ae.history_ = list(result["history"])
    ae.best_val_loss_ = float(result["best_val_loss"])
    ae.n_epochs_ = len(ae.history_)
    ae.stopped_early_ = ae.n_epochs_ < config.max_epochs
    return ae


def _spawned_rank(
    rank: int,
    world_size: int,
    X: np.ndarray,
    config: AutoencoderConfig,
    seed: int,
    rendezvous: str,
    out: str,
    threads: int,
    backend: str,
) -> None:
    torch.set_num_threads(threads)
    dist.init_process_group(backend, init_method=rendezvous, rank=rank, world_size=world_size)
    try:
        ae = _train(X, config, seed, rank, world_size, print)
        if rank == 0:
            torch.save(_result(ae), out)
        dist.barrier()
    finally:
        dist.destroy_process_group()


def fit_autoencoder_ddp(
    X: np.ndarray,
    config: AutoencoderConfig | None = None,
    seed: int = 0,
    world_size: int = 2,
    threads_per_process: int = 1,
    backend: str = "gloo",
) -> AdversarialAutoencoder:
    """AdversarialAutoencoder(config, seed=seed).fit(X), trained by world_size processes on this machine
    (torch.multiprocessing, gloo on CPU), each on one shard of every batch. Returns the fitted estimator."""
    if world_size < 1:
        raise ValueError(f"world_size must be at least 1, got {world_size}")
    X = np.ascontiguousarray(X, dtype=np.float32)
    if X.ndim != 2 or not np.isfinite(X).all():
        raise ValueError("X must be a 2-D matrix of finite numbers (the preprocessed model inputs)")
    cfg = config or AutoencoderConfig()
    with tempfile.TemporaryDirectory(prefix="ddp_") as folder:
        rendezvous = "file://" + str(Path(folder) / "rendezvous")
        out = str(Path(folder) / "result.pt")
        mp.start_processes(
            _spawned_rank,
            args=(world_size, X, cfg, seed, rendezvous, out, threads_per_process, backend),
            nprocs=world_size,
            join=True,
            start_method="spawn",
        )
        result = torch.load(out, weights_only=False)
    return _from_result(result, cfg, seed, threads_per_process)


def train_from_environment(
    X: np.ndarray, config: AutoencoderConfig | None = None, seed: int = 0, backend: str = "gloo"
) -> dict[str, Any]:
    """One process's part of the training where a launcher set RANK, WORLD_SIZE, MASTER_ADDR and
    MASTER_PORT (torchrun, or pyspark's TorchDistributor, which runs this function in each process):
    every process returns the weights and history (`fitted_autoencoder` makes the estimator). They are the
    same in every process (DDP keeps the replicas in step; the losses are all-reduced), and every process
    returns them because TorchDistributor's local mode keeps the output of whichever process writes it
    last: a None from rank 1 written after rank 0's result was what the caller got."""
    dist.init_process_group(backend)
    try:
        ae = _train(X, config or AutoencoderConfig(), seed, dist.get_rank(), dist.get_world_size(), print)
        return _result(ae)
    finally:
        dist.destroy_process_group()


def fitted_autoencoder(
    result: dict[str, Any], config: AutoencoderConfig | None = None, seed: int = 0, threads: int | None = 1
) -> AdversarialAutoencoder:
    """The fitted estimator from a process's result of train_from_environment."""
    return _from_result(result, config or AutoencoderConfig(), seed, threads)


def main(argv: list[str] | None = None) -> None:
    """Command line for torchrun: every process reads the matrix, trains its shard, rank 0 writes the
    weights and history. torchrun --nnodes N --nproc-per-node P -m customer_ml.distributed.ddp ..."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--inputs", required=True, help=".npy file of the model matrix (rows x inputs)")
    parser.add_argument(
        "--out", required=True, help="where rank 0 writes the weights and history (torch.save)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-epochs", type=int, default=AutoencoderConfig.max_epochs)
    parser.add_argument("--backend", default="gloo", help="the process group's backend (gloo: CPU tensors)")
    args = parser.parse_args(argv)
    if "RANK" not in os.environ:
        parser.error("run under torchrun (it sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT)")
    result = train_from_environment(
        np.load(args.inputs), AutoencoderConfig(max_epochs=args.max_epochs), args.seed, args.backend
    )
    if int(os.environ["RANK"]) == 0:
        torch.save(result, args.out)


if __name__ == "__main__":
    main()
