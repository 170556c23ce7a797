"""alpha-GAN (Rosca et al. 2017): losses by hand, the four-player update schedule, encoders, the CLI, quality."""

import copy
import math
import time
from functools import partial
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightning_gans.gan_modules.alpha_gan import AlphaGAN
from lightning_gans.gan_modules.losses import (
    alpha_gan_discriminator_loss,
    alpha_gan_encoder_loss,
    alpha_gan_generator_loss,
    code_discriminator_loss,
    reconstruction_l1,
)
from lightning_gans.gan_modules.networks.dcgan import DCGANGenerator
from lightning_gans.gan_modules.networks.encoder import DCGANEncoder, MLPEncoder
from lightning_gans.gan_modules.networks.mlp import MLPDiscriminator, MLPGenerator
from lightning_gans.gan_modules.training.optimizer import OptimizerSpec
from tiny import FixedNoise, loader, make_trainer

ROOT = Path(__file__).resolve().parents[1]
PLAYERS = ("encoder", "generator", "discriminator", "code_discriminator")


def sigmoid(a: float) -> float:
    return 1 / (1 + math.exp(-a))


# ---------------------------------------------------------------- losses against hand computations
X = torch.tensor([[[0.5, -1.0], [0.0, 1.0]], [[1.0, 1.0], [-0.5, 0.0]]])  # (2, 2, 2)
X_REC = torch.tensor([[[0.0, -1.0], [0.5, 0.0]], [[1.0, 0.5], [0.5, 0.0]]])
L1_BY_HAND = ((0.5 + 0.0 + 0.5 + 1.0) + (0.0 + 0.5 + 1.0 + 0.0)) / 2  # summed over elements, mean over batch


def test_reconstruction_l1_sums_over_elements_and_averages_over_the_batch():
    assert math.isclose(reconstruction_l1(X, X_REC).item(), L1_BY_HAND, rel_tol=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        reconstruction_l1(X, X_REC[:1])


def test_encoder_loss_by_hand():
    code_logits = torch.tensor([1.5, -0.5])
    expected = 3.0 * L1_BY_HAND - (1.5 - 0.5) / 2  # -log(C/(1-C)) = -logit
    assert math.isclose(alpha_gan_encoder_loss(X, X_REC, code_logits, 3.0).item(), expected, rel_tol=1e-6)


def test_generator_loss_by_hand_is_the_ratio_form():
    rec_logits, gen_logits = torch.tensor([0.3, -2.0]), torch.tensor([1.0, 0.2])
    ratio = lambda logits: -sum(math.log(sigmoid(a) / (1 - sigmoid(a))) for a in logits.tolist()) / 2  # noqa: E731
    expected = 0.5 * L1_BY_HAND + ratio(rec_logits) + ratio(gen_logits)
    loss = alpha_gan_generator_loss(X, X_REC, rec_logits, gen_logits, 0.5)
    assert math.isclose(loss.item(), expected, rel_tol=1e-5)


def test_data_discriminator_loss_by_hand():
    real, rec, gen = torch.tensor([2.0, -1.0]), torch.tensor([0.5]), torch.tensor([-3.0, 0.0, 1.0])
    expected = (
        -(math.log(sigmoid(2.0)) + math.log(sigmoid(-1.0))) / 2
        - math.log(1 - sigmoid(0.5))
        - (math.log(1 - sigmoid(-3.0)) + math.log(1 - sigmoid(0.0)) + math.log(1 - sigmoid(1.0))) / 3
    )
    assert math.isclose(alpha_gan_discriminator_loss(real, rec, gen).item(), expected, rel_tol=1e-6)
    assert math.isclose(alpha_gan_discriminator_loss(*[torch.zeros(4)] * 3).item(), 3 * math.log(2), rel_tol=1e-6)


def test_code_discriminator_loss_by_hand():
    prior, encoded = torch.tensor([1.0, -0.5]), torch.tensor([0.25, 2.0])
    expected = -(math.log(sigmoid(1.0)) + math.log(sigmoid(-0.5))) / 2 - (
        math.log(1 - sigmoid(0.25)) + math.log(1 - sigmoid(2.0))
    ) / 2
    assert math.isclose(code_discriminator_loss(prior, encoded).item(), expected, rel_tol=1e-6)


def test_code_discriminator_labels_prior_samples_real_and_codes_fake():
    prior = torch.tensor([0.2, -1.0, 0.7], requires_grad=True)
    encoded = torch.tensor([0.1, 0.4, -0.3], requires_grad=True)
    loss = code_discriminator_loss(prior, encoded)
    loss.backward()
    assert (prior.grad < 0).all() and (encoded.grad > 0).all()  # raising prior logits lowers the loss
    with torch.no_grad():
        assert code_discriminator_loss(prior + 1, encoded) < loss < code_discriminator_loss(prior - 1, encoded)
        assert code_discriminator_loss(prior, encoded - 1) < loss
    # ... and the encoder pushes its codes' logits the other way, towards "prior".
    assert alpha_gan_encoder_loss(X, X_REC, torch.ones(2), 1.0) < alpha_gan_encoder_loss(X, X_REC, torch.zeros(2), 1.0)


def test_losses_stay_finite_for_confident_discriminators():
    confident = torch.tensor([100.0, -100.0])
    assert torch.isfinite(alpha_gan_discriminator_loss(confident, -confident, confident))
    assert torch.isfinite(code_discriminator_loss(-confident, confident))


# ---------------------------------------------------------------- the module
def tiny_module(cls=AlphaGAN, lr=(0.1, 0.2, 0.3, 0.4), **kwargs):
    """Vectors in 2-D, one hidden layer each, SGD with a different rate per player (E, G, D, C)."""
    sgd = [OptimizerSpec(name="sgd", lr=r) for r in lr]
    return cls(
        partial(MLPGenerator, latent_dim=2, hidden=6, n_layers=1),
        partial(MLPDiscriminator, hidden=6, n_layers=1),
        encoder=partial(MLPEncoder, hidden=6, n_layers=1),
        code_discriminator=partial(MLPDiscriminator, hidden=5, n_layers=1),
        encoder_optimizer=sgd[0], generator_optimizer=sgd[1], discriminator_optimizer=sgd[2],
        code_discriminator_optimizer=sgd[3], **kwargs,
    )


class FixedPriorAlphaGAN(FixedNoise, AlphaGAN):
    """alpha-GAN with latent codes from a fixed queue."""


def sgd_step(module: nn.Module, loss: torch.Tensor, lr: float) -> nn.Module:
    grads = torch.autograd.grad(loss, list(module.parameters()), allow_unused=True)
    updated = copy.deepcopy(module)
    with torch.no_grad():
        for p, g in zip(updated.parameters(), grads):
            if g is not None:
                p -= lr * g
    return updated


def test_one_iteration_matches_algorithm_1_by_hand():
    """E, then G, then D, then C, each against the networks as the earlier steps left them."""
    torch.manual_seed(0)
    x, z = torch.randn(8, 2), torch.randn(8, 2)
    module = tiny_module(FixedPriorAlphaGAN, codes=[z], lambda_rec=2.0)
    e, g, d, c = (copy.deepcopy(getattr(module, name)) for name in PLAYERS)

    e1 = sgd_step(e, alpha_gan_encoder_loss(x, g(e(x)), c(e(x)), 2.0), 0.1)
    code = e1(x).detach()
    g1 = sgd_step(g, alpha_gan_generator_loss(x, g(code), d(g(code)), d(g(z)), 2.0), 0.2)
    d1 = sgd_step(d, alpha_gan_discriminator_loss(d(x), d(g1(code).detach()), d(g1(z).detach())), 0.3)
    c1 = sgd_step(c, code_discriminator_loss(c(z), c(code)), 0.4)

    trainer = make_trainer()
    trainer.fit(module, DataLoader(TensorDataset(x, torch.zeros(8)), batch_size=8))
    assert trainer.global_step == 4 and module.generator_steps == 1
    for name, expected in zip(PLAYERS, (e1, g1, d1, c1)):
        for p, q in zip(getattr(module, name).parameters(), expected.parameters()):
            torch.testing.assert_close(p, q, msg=f"{name} differs from the hand-computed update")


class StepRecorder(pl.Callback):
    """Around every optimizer step: which networks' parameters changed, and whose gradients the step's
    backward pass changed (compared with the gradients left after the previous step)."""

    def __init__(self):
        self.steps = []

    def on_train_start(self, trainer, module):
        self.grads = {name: self._grads(getattr(module, name)) for name in PLAYERS}
        for optimizer in trainer.optimizers:
            optimizer.register_step_pre_hook(lambda opt, args, kwargs: self._before(module))
            optimizer.register_step_post_hook(lambda opt, args, kwargs: self._after(module))

    @staticmethod
    def _grads(network):
        return [None if p.grad is None else p.grad.clone() for p in network.parameters()]

    def _before(self, module):
        self.params = {name: [p.detach().clone() for p in getattr(module, name).parameters()] for name in PLAYERS}

    def _after(self, module):
        changed, new_grads = set(), set()
        for name in PLAYERS:
            network = getattr(module, name)
            if any(not torch.equal(p, q) for p, q in zip(network.parameters(), self.params[name])):
                changed.add(name)
            grads = self._grads(network)
            if any(
                (a is None) != (b is None) or (a is not None and not torch.equal(a, b))
                for a, b in zip(grads, self.grads[name])
            ):
                new_grads.add(name)
            self.grads[name] = grads
        self.steps.append((changed, new_grads))


def test_each_optimizer_step_changes_only_its_own_network():
    torch.manual_seed(0)
    module, recorder = tiny_module(), StepRecorder()
    make_trainer(callbacks=[recorder]).fit(module, loader(3))
    assert len(recorder.steps) == 12  # four steps a batch
    for i, (changed, new_grads) in enumerate(recorder.steps):
        player = PLAYERS[i % 4]  # Algorithm 1's order: E, G, D, C
        assert changed == {player}, f"step {i} ({player}) changed the parameters of {changed}"
        # The frozen networks were not differentiated: only the stepping one has new gradients.
        assert new_grads == {player}, f"step {i} ({player}) changed the gradients of {new_grads}"
    assert module.generator_steps == 3


def test_optimizers_follow_the_base_order_and_the_players_specs():
    module = tiny_module()
    optimizers = module.configure_optimizers()
    assert [o.defaults["lr"] for o in optimizers] == [0.2, 0.3, 0.1, 0.4]  # G, D (base order), then E, C
    for optimizer, network in zip(optimizers, ("generator", "discriminator", "encoder", "code_discriminator")):
        assert {id(p) for p in optimizer.param_groups[0]["params"]} == {id(p) for p in getattr(module, network).parameters()}


def test_training_logs_each_players_loss_and_the_reconstruction_error():
    module = tiny_module()
    trainer = make_trainer()
    trainer.fit(module, loader(2))
    logged = set(trainer.callback_metrics)
    assert {f"loss/{p}" for p in PLAYERS} | {"reconstruction/l1_per_element"} <= logged


def test_encode_reconstruct_and_pairs():
    torch.manual_seed(0)
    module = tiny_module()
    module.train()
    x = torch.randn(5, 2)
    code, rec = module.encode(x), module.reconstruct(x)
    assert code.shape == (5, 2) and rec.shape == (5, 2) and not rec.requires_grad
    assert module.encoder.training and module.generator.training  # modes restored
    torch.testing.assert_close(rec, module.generator(module.encoder(x)).detach())
    pairs = module.reconstruction_pairs(x)
    assert pairs.shape == (10, 2)
    torch.testing.assert_close(pairs[0::2], x)
    torch.testing.assert_close(pairs[1::2], rec)
    torch.testing.assert_close(module.reconstruction_error(x), (x - rec).abs().mean())


def test_image_module_builds_the_encoder_with_the_generators_latent_dim():
    module = AlphaGAN(
        partial(DCGANGenerator, latent_dim=7, base_channels=4), partial(MLPDiscriminator, hidden=8),
        encoder=partial(DCGANEncoder, base_channels=4), code_discriminator=partial(MLPDiscriminator, hidden=8),
        data_shape=(1, 8, 8),
    )
    x = torch.rand(3, 1, 8, 8) * 2 - 1
    assert module.encode(x).shape == (3, 7) and module.reconstruct(x).shape == (3, 1, 8, 8)
    assert module.code_discriminator(torch.randn(4, 7)).shape == (4,)
    assert module.sample(2).shape == (2, 1, 8, 8)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n_critic=2), "n_critic must be 1"),
        (dict(lambda_rec=-1.0), "lambda_rec must be non-negative"),
        (dict(code_discriminator=partial(MLPDiscriminator, hidden=8, n_layers=2, norm="batch")), "batch norm"),
        (dict(encoder=MLPEncoder((2,), latent_dim=3)), "latent_dim"),
        (dict(encoder="mlp"), "encoder must be"),
    ],
)
def test_bad_arguments_are_rejected(kwargs, message):
    options = dict(encoder=MLPEncoder, code_discriminator=MLPDiscriminator)
    options.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=message):
        AlphaGAN(partial(MLPGenerator, latent_dim=2), MLPDiscriminator, **options)


# ---------------------------------------------------------------- encoders
@pytest.mark.parametrize("size", [8, 28, 32, 64])
def test_dcgan_encoder_maps_images_to_codes(size):
    encoder = DCGANEncoder((3, size, size), latent_dim=5, base_channels=4)
    assert encoder.latent_dim == 5
    assert encoder(torch.randn(2, 3, size, size)).shape == (2, 5)


def test_encoders_reject_bad_input():
    with pytest.raises(ValueError, match="square images"):
        DCGANEncoder((1, 10, 10), latent_dim=2)
    with pytest.raises(ValueError, match="latent_dim"):
        MLPEncoder((2,), latent_dim=0)
    with pytest.raises(ValueError, match="norm"):
        MLPEncoder((2,), latent_dim=2, norm="spectral")


def test_mlp_encoder_flattens_and_is_per_example_without_batch_norm():
    encoder = MLPEncoder((1, 8, 8), latent_dim=4, hidden=16, n_layers=2)
    x = torch.randn(6, 1, 8, 8)
    codes = encoder(x)
    assert codes.shape == (6, 4)
    torch.testing.assert_close(encoder(x[:1]), codes[:1])


# ---------------------------------------------------------------- the CLI (short CI run)
SMALL_RING = ["--data.init_args.n_train=2048", "--data.init_args.n_val=256", "--trainer.enable_progress_bar=false"]


def test_ring8_config_trains_and_reloads(tmp_path):
    from lightning_gans.gan_modules import load_generator
    from lightning_gans.cli import main

    cli = main(["fit", "--config", str(ROOT / "configs/ring8_alpha_gan.yaml"), "--trainer.max_steps=40",
                f"--trainer.default_root_dir={tmp_path}", *SMALL_RING])
    assert isinstance(cli.model, AlphaGAN)
    assert cli.trainer.global_step == 40 and cli.model.generator_steps == 10  # four optimizer steps an iteration
    assert cli.model.encoder.latent_dim == cli.model.latent_dim == 2
    assert "reconstruction/l1_per_element" in cli.trainer.callback_metrics
    loaded = load_generator(cli.trainer.checkpoint_callback.last_model_path)
    assert isinstance(loaded, AlphaGAN)
    x = torch.randn(16, 2)
    torch.testing.assert_close(loaded.reconstruct(x), cli.model.cpu().reconstruct(x))


# ---------------------------------------------------------------- quality (slow: full configs, fixed seed)
def train_config(name, tmp_path):
    from lightning_gans.cli import main

    start = time.perf_counter()
    cli = main(["fit", "--config", str(ROOT / "configs" / name), "--seed_everything=0",
                f"--trainer.default_root_dir={tmp_path}", "--trainer.enable_progress_bar=false"])
    return cli, time.perf_counter() - start


@pytest.mark.slow
def test_digits_reconstructs_held_out_digits_and_covers_all_classes(tmp_path):
    from lightning_gans.gan_modules.metrics.digits_classifier import load_digits_classifier

    cli, seconds = train_config("digits_alpha_gan.yaml", tmp_path)
    module, val = cli.model.cpu(), cli.datamodule.val_dataset
    held_out = torch.stack([val[i][0] for i in range(len(val))])
    error = float(module.reconstruction_error(held_out))
    torch.manual_seed(0)
    predicted = load_digits_classifier()(module.sample(1000)).argmax(1)
    counts = torch.bincount(predicted, minlength=10)
    print(f"digits alpha-GAN: held-out L1 per pixel {error:.4f}, class counts {counts.tolist()}, {seconds:.0f} s")
    assert error < 0.15
    assert (counts > 0).all()


@pytest.mark.slow
def test_ring8_captures_all_modes(tmp_path):
    from lightning_gans.gan_modules.metrics.mode_coverage import mode_statistics

    cli, seconds = train_config("ring8_alpha_gan.yaml", tmp_path)
    torch.manual_seed(0)
    stats = mode_statistics(cli.model.cpu().sample(2500), cli.datamodule.centres, cli.datamodule.std)
    print(f"ring8 alpha-GAN: {stats['modes_captured']} modes, high-quality {stats['high_quality_fraction']:.3f}, "
          f"{seconds:.0f} s")
    assert stats["modes_captured"] == 8
