from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from planted import make_planted
from sklearn.exceptions import NotFittedError
from threadpoolctl import threadpool_info, threadpool_limits

from customer_ml.features.preprocessing import FeaturePreprocessor
from customer_ml.nn import device
from customer_ml.nn.autoencoder import (
    AdversarialAutoencoder,
    LossSums,
    attack_leaf,
    batch_size_for,
    fgsm,
    fgsm_of,
    info_nce,
    scarf_view,
)
from customer_ml.nn.device import cpu_threads, resolve_device
from customer_ml.segmentation.clustering import one_blas_thread
from customer_ml.segmentation.config import AutoencoderConfig, DECConfig

# The reconstruction-only autoencoder (contrastive term off) and the default contrastive one, small.
SMALL = AutoencoderConfig(
    hidden=(32, 16), embedding_dim=4, max_epochs=12, patience=50, learning_rate=3e-3, contrastive_weight=0.0
)
CONTRASTIVE = AutoencoderConfig(hidden=(32, 16), embedding_dim=8, max_epochs=12, patience=50)


@pytest.fixture(scope="module")
def X():
    table, catalog, _ = make_planted(n=800, seed=5)
    return FeaturePreprocessor().fit_transform(table, catalog)


def _state(ae):
    return {k: v.clone() for k, v in ae.net_.state_dict().items()}


def test_two_fits_are_bit_identical(X):
    a = AdversarialAutoencoder(SMALL, DECConfig(max_epochs=4), seed=7, device="cpu").fit(X).fit_dec(X, 4)
    b = AdversarialAutoencoder(SMALL, DECConfig(max_epochs=4), seed=7, device="cpu").fit(X).fit_dec(X, 4)
    sa, sb = _state(a), _state(b)
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    np.testing.assert_array_equal(a.centroids_, b.centroids_)
    c = AdversarialAutoencoder(SMALL, seed=8, device="cpu").fit(X)
    assert not all(torch.equal(sa[k], _state(c)[k]) for k in sa)


def test_loss_decreases_and_progress_lines(X):
    lines: list[str] = []
    ae = AdversarialAutoencoder(SMALL, seed=0, device="cpu").fit(X, progress=lines.append)
    hist = ae.history_
    assert len(lines) == len(hist) == SMALL.max_epochs
    assert hist[-1]["train_loss"] < 0.8 * hist[0]["train_loss"]
    assert hist[-1]["val_loss"] < 0.8 * hist[0]["val_loss"]
    assert all(h["adversarial_loss"] >= h["train_loss"] * 0.9 for h in hist)
    for word in ("epoch 1", "train_loss=", "adversarial_loss=", "val_loss=", "seconds="):
        assert word in lines[0]


def test_early_stopping_keeps_best_weights(X):
    cfg = AutoencoderConfig(
        hidden=(32, 16), embedding_dim=4, max_epochs=200, patience=2, min_delta=0.3, contrastive_weight=0.0
    )
    ae = AdversarialAutoencoder(cfg, seed=0, device="cpu").fit(X)
    assert ae.stopped_early_ and ae.n_epochs_ < cfg.max_epochs
    assert ae.best_val_loss_ == min(h["val_loss"] for h in ae.history_)


def test_fgsm_perturbation_has_max_norm_epsilon(X):
    ae = AdversarialAutoencoder(SMALL, seed=0, device="cpu").fit(X)
    for eps in (0.05, 0.3):
        X_adv = ae.perturb(X[:200], eps)
        delta = np.abs(X_adv.astype(np.float64) - X[:200])
        assert delta.max() == pytest.approx(eps, abs=1e-5)
        assert np.mean(np.isclose(delta, eps, atol=1e-5)) > 0.99
        assert ae.reconstruction_error(X_adv, X[:200]).mean() > ae.reconstruction_error(X[:200]).mean()
    x = torch.randn(5, 3)
    out = fgsm(x, lambda t: (t * torch.tensor([1.0, -2.0, 0.5])).sum(), 0.1)
    torch.testing.assert_close(out - x, torch.tensor([0.1, -0.1, 0.1]).expand(5, 3))


def test_a_step_attacks_with_its_own_forward_pass_what_a_separate_attack_would(X):
    # A training step reuses its forward pass for the FGSM attack (fgsm_of): the same perturbation, bit for
    # bit, as running the network again (fgsm), and, for the contrastive term, the same as attacking the
    # view against the other view's detached codes; the step's backward pass still has its graph.
    ae = AdversarialAutoencoder(CONTRASTIVE, seed=0, device="cpu").fit(X[:200])
    xb = torch.as_tensor(X[:64])
    x_in = attack_leaf(xb, True)
    loss = torch.nn.functional.mse_loss(ae.net_(x_in)[1], xb)
    reused = fgsm_of(x_in, loss, 0.1)
    separate = fgsm(xb, lambda x: torch.nn.functional.mse_loss(ae.net_(x)[1], xb), 0.1)
    assert torch.equal(reused, separate)
    enc = ae.net_.encoder
    v1, v2 = attack_leaf(xb.roll(1, dims=0), True), xb
    z2 = enc(v2)
    con = info_nce(enc(v1), z2, 0.2)
    against_detached = fgsm(v1, lambda v: info_nce(enc(v), z2.detach(), 0.2), 0.1)
    assert torch.equal(fgsm_of(v1, con, 0.1), against_detached)
    con.backward(inputs=list(enc.parameters()))
    assert all(p.grad is not None for p in enc.parameters()) and v1.grad is None
    assert attack_leaf(xb, False) is xb


def test_an_epochs_loss_sums_stay_on_the_device_and_equal_python_floats():
    # The epoch's figures are read once at its end (a GPU then need not wait on every step), and they are
    # the same doubles as summing each step's losses as Python floats.
    gen = torch.Generator().manual_seed(3)
    rows_per_step = torch.randint(1, 500, (40,), generator=gen)
    steps = [(int(rows), torch.rand(3, generator=gen)) for rows in rows_per_step]
    sums = LossSums(3, torch.device("cpu"))
    totals, seen = [0.0, 0.0, 0.0], 0
    for rows, losses in steps:
        sums.add(rows, *losses.unbind())
        totals = [t + float(v) * rows for t, v in zip(totals, losses, strict=True)]
        seen += rows
    assert sums.means() == [t / seen for t in totals]


def test_dec_learns_centroids_and_sharpens(X):
    # The mechanism, with the clustering term at full weight (the default 0.1 keeps the embedding close
    # to the pretrained one instead: see test_default_fine_tuning_keeps_the_embedding).
    dec = DECConfig(max_epochs=15, tol=0.0, update_interval=1, cluster_weight=1.0)
    ae = AdversarialAutoencoder(SMALL, dec, seed=0, device="cpu").fit(X)
    ae.fit_dec(X, 5)
    assert ae.centroids_.shape == (5, SMALL.embedding_dim)
    confidence = [h["confidence"] for h in ae.dec_history_]
    # the soft assignments sharpen epoch after epoch
    assert len(confidence) == 15 and confidence[-1] > confidence[0] + 0.02
    assert all(b >= a for a, b in zip(confidence, confidence[1:], strict=False))
    assert ae.transform(X).shape == (len(X), SMALL.embedding_dim)


def test_default_fine_tuning_keeps_what_separates_the_groups():
    # Six planted kinds, fine-tuned for three clusters (the collapse case): a linear probe of the kinds
    # on the embedding keeps its accuracy with the default light clustering term, and loses more of it
    # at weight 1.0.
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    table, catalog, kinds = make_planted(n=800, seed=5)
    X = FeaturePreprocessor().fit_transform(table, catalog)

    def probe(Z):
        return cross_val_score(LogisticRegression(max_iter=500), Z, kinds, cv=4).mean()

    probes = {}
    for weight in (0.1, 1.0):
        ae = AdversarialAutoencoder(SMALL, DECConfig(max_epochs=15, tol=0.0, cluster_weight=weight), seed=0)
        ae.fit(X)
        before = probe(ae.transform(X))
        probes[weight] = probe(ae.fit_dec(X, 3).transform(X))
    assert probes[0.1] >= before - 0.03
    assert probes[0.1] > probes[1.0]


def test_not_fitted_and_device():
    ae = AdversarialAutoencoder(SMALL)
    with pytest.raises(NotFittedError):
        ae.transform(np.zeros((3, 4), dtype=np.float32))
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError):
        resolve_device("tpu")


def test_large_training_sets_get_larger_batches(X):
    cfg = AutoencoderConfig(batch_size=256, max_batches_per_epoch=50)
    assert batch_size_for(12_800, cfg) == 256
    assert batch_size_for(12_801, cfg) == 257
    assert batch_size_for(100_000, cfg) == 2000
    assert batch_size_for(100_000, AutoencoderConfig(batch_size=256, max_batches_per_epoch=None)) == 256
    # Few steps per epoch still train: 720 training rows in 3 batches of 240, not 45 of 16.
    few = AutoencoderConfig(
        hidden=(32, 16), embedding_dim=4, batch_size=16, max_epochs=12, patience=50, max_batches_per_epoch=3
    )
    assert batch_size_for(720, few) == 240
    hist = AdversarialAutoencoder(few, seed=0, device="cpu").fit(X).history_
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]


def test_scarf_view_replaces_a_share_of_entries_with_other_rows_values() -> None:
    x = torch.arange(2000, dtype=torch.float32).reshape(200, 10)
    view = scarf_view(x, 0.4, torch.Generator().manual_seed(0))
    changed = (view != x).float().mean()
    assert 0.3 < float(changed) < 0.45  # 40%, less the draws that picked the row itself
    # Every entry still comes from its own column: a draw from the feature's marginal in the batch.
    assert bool(((view % 10) == (x % 10)).all())
    a = torch.randn(16, 4)
    assert float(info_nce(a, a, 0.2)) < float(info_nce(a, torch.randn(16, 4), 0.2))


def test_contrastive_encoder_is_deterministic_on_the_sphere_and_keeps_the_kinds_through_fine_tuning():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    table, catalog, kinds = make_planted(n=800, seed=5)
    X = FeaturePreprocessor().fit_transform(table, catalog)

    def probe(Z):
        return cross_val_score(LogisticRegression(max_iter=500), Z, kinds, cv=4).mean()

    dec = DECConfig(max_epochs=10, tol=0.0)
    a = AdversarialAutoencoder(CONTRASTIVE, dec, seed=3, device="cpu").fit(X)
    Z = a.transform(X)
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1.0, atol=1e-5)
    assert all(h["contrastive_loss"] > 0 for h in a.history_)
    assert a.history_[-1]["contrastive_loss"] < a.history_[0]["contrastive_loss"]
    before = probe(Z)
    assert before > 0.8  # 0.884 measured (the reconstruction autoencoder's embedding: see the test above)
    # Fine-tuning for three clusters (six planted kinds: the collapse case) keeps what separates them.
    a.fit_dec(X, 3)
    assert probe(a.transform(X)) >= before - 0.03
    b = AdversarialAutoencoder(CONTRASTIVE, dec, seed=3, device="cpu").fit(X).fit_dec(X, 3)
    sa, sb = _state(a), _state(b)
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def _blas_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_the_build_pins_blas_threads_once_and_the_models_contexts_leave_them_alone(monkeypatch):
    """A BLAS thread count is process-wide, and dbt runs two Python models at once in one process: a
    model that set and restored it around its work changed it under the model beside it, whose matrix
    products then summed in another order (the recommender's blend weights differed in their 14th digit
    between two builds of the same data). The dbt plugin fixes it once; the contexts leave it alone."""
    from customer_ml.warehouse.dbt_plugin import Plugin

    monkeypatch.setattr(device, "_PINNED_BLAS_THREADS", None)  # restored after the test
    with threadpool_limits(limits=3, user_api="blas"):  # restores the session's limit on exit
        Plugin(name="dbt_plugin", plugin_config={})
        assert _blas_threads() == {1}
        # Stand-in for "another model changed it": a context for the pinned count must not touch it.
        threadpool_limits(limits=2, user_api="blas")
        with cpu_threads(1), one_blas_thread():
            assert _blas_threads() == {2}
        assert _blas_threads() == {2}
        # Another count than the pinned one is still set for the block, and restored after it.
        with cpu_threads(3):
            assert _blas_threads() == {3}
            assert torch.get_num_threads() == 3
        assert _blas_threads() == {2}


def test_fits_leave_the_global_generators_alone_so_fits_side_by_side_give_what_each_gives_alone(X):
    """dbt runs the fraud and segmentation fits in threads of one process. A fit neither reads nor moves
    torch's or numpy's process-wide generator, so two fits at once cannot interleave their draws."""

    def fit(seed: int) -> dict[str, torch.Tensor]:
        ae = AdversarialAutoencoder(CONTRASTIVE, DECConfig(max_epochs=2), seed=seed, device="cpu", threads=1)
        return _state(ae.fit(X).fit_dec(X, 3))

    torch.manual_seed(123)
    np.random.seed(123)  # noqa: NPY002 - the global state is what the test watches
    torch_before, numpy_before = torch.get_rng_state(), np.random.get_state()[1].copy()  # noqa: NPY002
    alone = {seed: fit(seed) for seed in (1, 2)}
    assert torch.equal(torch.get_rng_state(), torch_before)
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_before)  # noqa: NPY002

    torch.manual_seed(999)  # another global state changes nothing either
    with ThreadPoolExecutor(max_workers=2) as pool:
        together = dict(zip((1, 2), pool.map(fit, (1, 2)), strict=True))
    for seed, state in alone.items():
        assert all(torch.equal(state[k], together[seed][k]) for k in state)
    assert not torch.equal(alone[1]["encoder.0.weight"], alone[2]["encoder.0.weight"])


# A fitted network's outputs, applied at once and in batches of other sizes (the daily build rescores only
# the new transactions; a full rebuild scores them among all the others). Run in a fresh interpreter, as
# MKL reads MKL_ENABLE_INSTRUCTIONS once, when torch first multiplies matrices.
_BATCH_INVARIANCE = """
import numpy as np, torch
from customer_ml.nn.autoencoder import AdversarialAutoencoder
from customer_ml.segmentation.config import AutoencoderConfig
rng = np.random.default_rng(3)
for d, hidden, emb in ((23, (64, 32), 8), (41, (64, 32), 16)):  # the fraud and the segmentation shapes
    X = rng.standard_normal((9_000, d)).astype(np.float32)
    cfg = AutoencoderConfig(hidden=hidden, embedding_dim=emb, max_epochs=1, patience=5)
    ae = AdversarialAutoencoder(cfg, seed=1, device="cpu").fit(X[:2_000])
    z, err = ae.transform(X), ae.reconstruction_error(X)
    for size in (97, 997, 3_583, 3_585, 8_999):
        assert np.array_equal(ae.transform(X, batch_size=size), z), (d, size, "embedding")
        assert np.array_equal(ae.reconstruction_error(X, batch_size=size), err), (d, size, "error")
    for size in (1, 2, 7):  # separate calls, as the daily build's few new rows are
        for i in range(0, 30, size):
            assert np.array_equal(ae.transform(X[i : i + size]), z[i : i + size]), (d, size, "embedding")
            assert np.array_equal(ae.reconstruction_error(X[i : i + size]), err[i : i + size]), (d, size)
print("ok")
"""


@pytest.mark.parametrize("kernels", ["native", "AVX2"])
def test_outputs_of_a_row_do_not_depend_on_the_batch_it_is_applied_in(kernels):
    """Every row's embedding and reconstruction error are the same bits whatever batch it comes in, from
    one row to all of them (BLOCK_ROWS): with the CPU's own MKL kernels, and with the AVX2 kernels AMD CPUs
    and Intel CPUs without AVX-512 run (forced here; elsewhere than x86 MKL ignores the setting)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    env.pop("MKL_ENABLE_INSTRUCTIONS", None)
    if kernels == "AVX2":
        env["MKL_ENABLE_INSTRUCTIONS"] = "AVX2"
    done = subprocess.run(
        [sys.executable, "-c", _BATCH_INVARIANCE], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
