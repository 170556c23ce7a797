"""The AdaGAN callback: stages, mixture, data weights at the stage boundary, resets, checkpoints, methods."""

import math
from functools import partial
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch
import yaml
from lightning.pytorch.callbacks import ModelCheckpoint

from lightning_gans.callbacks.adagan import AdaGAN
from lightning_gans.callbacks.samples import SampleFigures
from lightning_gans.datamodules import RingOfGaussians
from lightning_gans.gan_modules import GAN, load_generator
from lightning_gans.gan_modules.alpha_gan import AlphaGAN
from lightning_gans.gan_modules.adagan import GeneratorMixture, MixtureClassifier
from lightning_gans.gan_modules.networks import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from lightning_gans.gan_modules.networks.encoder import MLPEncoder
from lightning_gans.gan_modules.nsgan_gp import NSGANGP
from lightning_gans.gan_modules.wgan import WGAN
from lightning_gans.gan_modules.wgan_gp import WGANGP

ROOT = Path(__file__).resolve().parents[1]
N_TRAIN, BATCH = 512, 64  # 8 batches an epoch
G = partial(MLPGenerator, latent_dim=2, hidden=8, n_layers=1)
D = partial(MLPDiscriminator, hidden=8, n_layers=1)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks on a shared 2-core machine: one thread is much faster."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def ring():
    return RingOfGaussians(n_train=N_TRAIN, n_val=0, batch_size=BATCH)


def fit(module, datamodule, callbacks, max_epochs, **kwargs):
    trainer = pl.Trainer(max_epochs=max_epochs, accelerator="cpu", logger=False, enable_progress_bar=False,
                         enable_model_summary=False, enable_checkpointing=any(isinstance(c, ModelCheckpoint)
                                                                              for c in callbacks),
                         callbacks=callbacks, **kwargs)
    trainer.fit(module, datamodule)
    return trainer


class Recorder(pl.Callback):
    """Per epoch: optimizer state sizes and generator weights at its start, the real points it trained on."""

    def __init__(self):
        self.optimizer_states, self.generator_at_start, self.points = {}, {}, {}

    def on_train_epoch_start(self, trainer, pl_module):
        epoch = trainer.current_epoch
        self.optimizer_states[epoch] = [len(opt.state) for opt in trainer.optimizers]
        self.generator_at_start[epoch] = {k: v.clone() for k, v in pl_module.generator.state_dict().items()}
        self.points[epoch] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.points[trainer.current_epoch].append(batch[0].clone())


def rows_in(points, support):
    """Which rows of ``points`` (B, 2) are rows of ``support`` (M, 2)."""
    return (points[:, None, :] == support[None]).all(-1).any(-1)


def test_three_stages_on_ring8_weights_take_effect_at_the_boundary_and_networks_restart(tmp_path):
    pl.seed_everything(0)
    datamodule, recorder = ring(), Recorder()
    adagan = AdaGAN(stages=3, epochs_per_stage=2, weights="topk", topk_fraction=0.25, classifier_steps=20)
    figures = SampleFigures(every_n_steps=10_000, n_samples=100, output_dir=str(tmp_path))
    trainer = fit(GAN(G, D, data_shape=(2,)), datamodule, [recorder, adagan, figures], max_epochs=6)
    assert sorted(p.name for p in tmp_path.glob("mixture_stage_*.png")) == [
        "mixture_stage_01.png", "mixture_stage_02.png", "mixture_stage_03.png"]

    assert adagan.stage == 3 and len(adagan.mixture) == 3 and trainer.current_epoch == 6
    assert trainer.global_step == 6 * 8 * 2  # one D and one G step a batch
    assert torch.allclose(adagan.mixture.weights, torch.full((3,), 1 / 3, dtype=torch.float64))
    assert [r["beta"] for r in adagan.history] == [1.0, 1 / 2, 1 / 3]
    # topk keeps a quarter of the 512 points: ESS = 128 = N/4, 3/4 zero weights
    assert adagan.history[2]["ess_fraction"] == pytest.approx(0.25)
    assert adagan.history[2]["zero_weight_fraction"] == pytest.approx(0.75)
    assert float(trainer.callback_metrics["adagan/ess_fraction"]) == pytest.approx(0.25)
    assert "adagan/mixture_modes_captured" in trainer.callback_metrics
    weights = adagan.data_weights
    assert float(weights.sum()) == pytest.approx(1.0) and (weights >= 0).all()
    assert torch.allclose(datamodule.sample_weights, weights)

    # every real point of stage 3 (epochs 4, 5) comes from the support of its weights: the first
    # batch after the boundary already uses them; the uniform first stage did not
    support = datamodule.train_dataset.tensors[0][weights > 0]
    for epoch in (4, 5):
        assert rows_in(torch.cat(recorder.points[epoch]), support).all()
    assert not rows_in(torch.cat(recorder.points[0]), support).all()

    # fresh optimizer state at each stage start, carried over inside a stage
    for epoch in (0, 2, 4):
        assert recorder.optimizer_states[epoch] == [0, 0]
    for epoch in (1, 3, 5):
        assert all(size > 0 for size in recorder.optimizer_states[epoch])
    # fresh networks at each stage start: not the frozen component of the previous stage
    for stage in (1, 2):
        component = adagan.mixture.components[stage - 1].state_dict()
        restarted = recorder.generator_at_start[2 * stage]
        assert all(not torch.equal(component[k], restarted[k]) for k in component)


def test_bagging_keeps_uniform_data_and_trains_no_classifier(monkeypatch):
    monkeypatch.setattr(MixtureClassifier, "fit", lambda *a, **k: pytest.fail("bagging trains no classifier"))
    datamodule = ring()
    adagan = AdaGAN(stages=2, epochs_per_stage=1, weights="uniform")
    fit(GAN(G, D, data_shape=(2,)), datamodule, [adagan], max_epochs=2)
    assert len(adagan.mixture) == 2 and datamodule.sample_weights is None
    assert adagan.history[1]["ess_fraction"] == pytest.approx(1.0)


def tiny_alpha_gan():
    return AlphaGAN(G, D, data_shape=(2,), encoder=partial(MLPEncoder, hidden=8, n_layers=1),
                    code_discriminator=partial(MLPDiscriminator, hidden=8, n_layers=1))


METHODS = {
    "gan": lambda: GAN(G, D, data_shape=(2,), generator_loss="minimax"),
    "nsgan": lambda: GAN(G, D, data_shape=(2,), generator_loss="non_saturating"),
    "wgan": lambda: WGAN(G, D, data_shape=(2,), n_critic=2),
    "wgan_gp": lambda: WGANGP(G, D, data_shape=(2,), n_critic=2),
    "nsgan_gp": lambda: NSGANGP(G, D, data_shape=(2,)),
    "alpha_gan": tiny_alpha_gan,
}


class NetworkSnapshots(pl.Callback):
    """Every network's weights at the end of epoch 0 (before AdaGAN resets them) and the start of epoch 1."""

    def __init__(self):
        self.end, self.start = None, None

    @staticmethod
    def snapshot(pl_module):
        return {name: [p.detach().clone() for p in child.parameters()] for name, child in pl_module.named_children()}

    def on_train_epoch_end(self, trainer, pl_module):
        if trainer.current_epoch == 0:
            self.end = self.snapshot(pl_module)

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch == 1:
            self.start = self.snapshot(pl_module)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_boosts_and_all_its_networks_restart(name):
    pl.seed_everything(1)
    snapshots = NetworkSnapshots()
    adagan = AdaGAN(stages=2, epochs_per_stage=1, classifier_steps=10)
    trainer = fit(METHODS[name](), ring(), [snapshots, adagan], max_epochs=2)
    assert adagan.stage == 2 and torch.allclose(adagan.mixture.weights, torch.tensor([0.5, 0.5], dtype=torch.float64))
    record = adagan.history[1]
    assert math.isfinite(record["lambda_star"]) and 0 < record["ess_fraction"] <= 1
    assert float(adagan.data_weights.sum()) == pytest.approx(1.0)
    assert set(snapshots.end) == set(snapshots.start) and len(snapshots.end) >= 2
    for network, before in snapshots.end.items():
        after = snapshots.start[network]
        assert all(not torch.equal(b, a) for b, a in zip(before, after)), network
    assert trainer.current_epoch == 2


def test_reset_networks_keeps_the_parameters_and_uses_the_networks_own_init():
    module = GAN(partial(DCGANGenerator, latent_dim=4, base_channels=8), partial(DCGANDiscriminator, base_channels=8),
                 data_shape=(1, 8, 8))
    parameters = list(module.parameters())
    with torch.no_grad():
        for p in parameters:
            p.fill_(0.7)
    module.reset_networks()
    assert all(a is b for a, b in zip(parameters, module.parameters()))
    conv_weights = [m.weight for m in module.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    assert all(abs(float(w.std()) - 0.02) < 0.006 for w in conv_weights if w.numel() > 500)  # DCGAN's N(0, 0.02)
    # networks given as instances (not in hparams): every layer's reset_parameters()
    instance = GAN(MLPGenerator((2,), hidden=8, n_layers=1), D, data_shape=(2,))
    with torch.no_grad():
        for p in instance.parameters():
            p.fill_(0.7)
    instance.reset_networks()
    assert all(not torch.all(p == 0.7) for p in instance.parameters())


NETWORKS_GIVEN_AS = {
    "factories": lambda: GAN(G, D, data_shape=(2,)),
    "instances": lambda: GAN(MLPGenerator((2,), latent_dim=2, hidden=8, n_layers=1),
                             MLPDiscriminator((2,), hidden=8, n_layers=1), data_shape=(2,)),
}


@pytest.mark.parametrize("given", sorted(NETWORKS_GIVEN_AS))
def test_fresh_networks_are_what_a_reset_loads_and_leave_the_module_alone(given):
    module = NETWORKS_GIVEN_AS[given]()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    torch.manual_seed(5)
    fresh = module.fresh_networks()
    assert sorted(fresh) == ["discriminator", "generator"]
    assert all(torch.equal(v, module.state_dict()[k]) for k, v in before.items())  # the module is untouched
    assert all(fresh[name] is not getattr(module, name) for name in fresh)
    torch.manual_seed(5)
    module.reset_networks()  # the same draws give the same networks
    for name, network in fresh.items():
        loaded = getattr(module, name).state_dict()
        assert all(torch.equal(v, loaded[k]) for k, v in network.state_dict().items()), name
    assert not all(torch.equal(v, module.state_dict()[k]) for k, v in before.items())


def test_start_new_component_restarts_networks_optimizers_and_the_critic_cycle():
    module = WGAN(G, D, data_shape=(2,), n_critic=3)
    trainer = fit(module, ring(), [], max_epochs=1, limit_train_batches=5)  # 5 critic steps, 1 generator step
    assert module.discriminator_steps_since_generator_step == 2 and module.generator_steps == 1
    assert all(len(optimizer.state) > 0 for optimizer in trainer.optimizers)
    trained = [p.detach().clone() for p in module.parameters()]
    module.start_new_component()
    assert module.discriminator_steps_since_generator_step == 0
    assert module.generator_steps == 1  # keeps counting: WGAN's critic warm-up is not repeated
    assert all(len(optimizer.state) == 0 for optimizer in trainer.optimizers)
    assert all(not torch.equal(a, b) for a, b in zip(trained, module.parameters()))


def checkpoint_state(path):
    return torch.load(path, map_location="cpu", weights_only=False)["callbacks"]["AdaGAN"]


def test_checkpoint_round_trip_and_resume_mid_stage(tmp_path):
    pl.seed_everything(2)
    options = dict(stages=2, epochs_per_stage=2, classifier_steps=10)
    saver = ModelCheckpoint(dirpath=tmp_path, filename="{epoch}", save_top_k=-1, every_n_epochs=1)
    adagan = AdaGAN(**options)
    fit(GAN(G, D, data_shape=(2,)), ring(), [adagan, saver], max_epochs=4)
    assert len(adagan.mixture) == 2

    mid = tmp_path / "epoch=2.ckpt"  # stage 1 done, one epoch of stage 2 done
    state = checkpoint_state(mid)
    assert state["stage"] == 1 and len(state["adagan_mixture"]["components"]) == 1
    assert torch.equal(state["data_weights"], adagan.data_weights)
    assert state["next_beta"] == 0.5

    class AtStart(pl.Callback):
        def on_fit_start(self, trainer, pl_module):
            self.stage, self.size = resumed.stage, len(resumed.mixture)
            self.component = resumed.mixture.components[0].state_dict()
            self.sampler_weights = trainer.datamodule.sample_weights.clone()

    resumed, at_start = AdaGAN(**options), AtStart()
    trainer = pl.Trainer(max_epochs=4, accelerator="cpu", logger=False, enable_progress_bar=False,
                         enable_model_summary=False, enable_checkpointing=False, callbacks=[resumed, at_start])
    trainer.fit(GAN(G, D, data_shape=(2,)), ring(), ckpt_path=mid, weights_only=False)  # hparams hold partials
    assert at_start.stage == 1 and at_start.size == 1
    original = adagan.mixture.components[0].state_dict()
    assert all(torch.equal(original[k], at_start.component[k]) for k in original)
    assert torch.allclose(at_start.sampler_weights, adagan.data_weights)
    # the resumed run finished the same stage (one more epoch) and no other
    assert resumed.stage == 2 and len(resumed.mixture) == 2 and trainer.current_epoch == 4
    assert resumed.history[0] == pytest.approx(adagan.history[0], nan_ok=True)
    assert torch.allclose(resumed.mixture.weights, torch.tensor([0.5, 0.5], dtype=torch.float64))

    # the mixture of the final checkpoint, rebuilt from its state alone
    rebuilt = GeneratorMixture.from_checkpoint(checkpoint_state(tmp_path / "epoch=3.ckpt")["adagan_mixture"],
                                               template=G((2,)))
    assert len(rebuilt) == 2 and torch.equal(rebuilt.weights, adagan.mixture.weights)
    for saved, component in zip(adagan.mixture.components, rebuilt.components):
        assert all(torch.equal(v, component.state_dict()[k]) for k, v in saved.state_dict().items())


def test_bad_settings_fail_clearly():
    with pytest.raises(ValueError, match="weights"):
        AdaGAN(weights="boost")
    with pytest.raises(ValueError, match="beta"):
        AdaGAN(beta=1.5)
    with pytest.raises(ValueError, match="stages"):
        AdaGAN(stages=0)
    adagan = AdaGAN(stages=3, epochs_per_stage=2)
    with pytest.raises(ValueError, match="max_epochs >= 6"):
        fit(GAN(G, D, data_shape=(2,)), ring(), [adagan], max_epochs=5)
    with pytest.raises(ValueError, match="packing=2: its data-vs-mixture classifier"):
        fit(GAN(G, D, data_shape=(2,), packing=2), ring(), [AdaGAN(stages=2, epochs_per_stage=1)], max_epochs=2)


@pytest.mark.parametrize("config", ["ring8_adagan", "grid25_adagan", "digits_adagan"])
def test_configs_train_through_the_cli(tmp_path, config):
    """Each config runs two tiny stages through train.py (the CLI's class-path hparams reset the networks)."""
    from lightning_gans.cli import main

    settings = yaml.safe_load((ROOT / "configs" / f"{config}.yaml").read_text())
    settings["trainer"].update(max_epochs=2, limit_train_batches=3, default_root_dir=str(tmp_path), logger=False,
                               enable_progress_bar=False)
    settings["trainer"]["callbacks"] = [c for c in settings["trainer"]["callbacks"]
                                        if c["class_path"].endswith("AdaGAN")]
    adagan_args = settings["trainer"]["callbacks"][0]["init_args"]
    adagan_args.update(stages=2, epochs_per_stage=1, classifier_steps=3)
    if "n_train" in settings["data"]["init_args"]:
        settings["data"]["init_args"].update(n_train=1024, n_val=0)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(settings))
    cli = main(["fit", "--config", str(path)])
    adagan = next(c for c in cli.trainer.callbacks if isinstance(c, AdaGAN))
    assert adagan.stage == 2 and len(adagan.mixture) == 2
    assert cli.trainer.current_epoch == 2
    # load_generator on the run's checkpoint gives the mixture, with the same components
    loaded = load_generator(cli.trainer.checkpoint_callback.best_model_path)
    assert isinstance(loaded, GeneratorMixture) and torch.equal(loaded.weights, adagan.mixture.weights.cpu())
    for saved, component in zip(adagan.mixture.components, loaded.components):
        assert all(torch.equal(v.cpu(), component.state_dict()[k]) for k, v in saved.state_dict().items())
    assert loaded.sample(5).shape == (5, *cli.model.data_shape)


DDP_SCRIPT = '''
import sys
from functools import partial
import lightning.pytorch as pl
import torch
sys.path.insert(0, {root!r})
from lightning_gans.callbacks.adagan import AdaGAN
from lightning_gans.datamodules import RingOfGaussians
from lightning_gans.gan_modules import GAN
from lightning_gans.gan_modules.networks import MLPDiscriminator, MLPGenerator

class Dump(pl.Callback):
    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch == 1:
            self.generator = {{k: v.clone() for k, v in pl_module.generator.state_dict().items()}}
            self.batches = []
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.current_epoch == 1:
            self.batches.append(batch[0].clone())

torch.set_num_threads(1)
pl.seed_everything(0)
dump, adagan = Dump(), AdaGAN(stages=2, epochs_per_stage=1, classifier_steps=10)
module = GAN(partial(MLPGenerator, hidden=8, n_layers=1), partial(MLPDiscriminator, hidden=8, n_layers=1),
             data_shape=(2,))
trainer = pl.Trainer(max_epochs=2, accelerator="cpu", devices=2, strategy="ddp_find_unused_parameters_true",
                     logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                     callbacks=[dump, adagan])
trainer.fit(module, RingOfGaussians(n_train=512, n_val=0, batch_size=32))
torch.save({{"data_weights": adagan.data_weights, "mixture": adagan.mixture.to_checkpoint(),
             "generator": dump.generator, "batches": torch.cat(dump.batches)}},
           {out!r} + f"/rank{{trainer.global_rank}}.pt")
'''


@pytest.mark.slow
def test_ddp_ranks_share_the_weights_and_networks_and_draw_different_batches(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "ddp_adagan.py"
    script.write_text(DDP_SCRIPT.format(root=str(ROOT), out=str(tmp_path)))
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rank0, rank1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in (0, 1))
    assert torch.equal(rank0["data_weights"], rank1["data_weights"])  # one vector, broadcast from rank 0
    assert torch.equal(rank0["mixture"]["weights"], rank1["mixture"]["weights"])
    for a, b in zip(rank0["mixture"]["components"], rank1["mixture"]["components"]):
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(torch.equal(rank0["generator"][k], rank1["generator"][k]) for k in rank0["generator"])  # same restart
    assert rank0["batches"].shape == rank1["batches"].shape == (8 * 32, 2)  # each rank half of the 512 draws
    assert not torch.equal(rank0["batches"], rank1["batches"])


def test_a_stage_freezes_the_generator_that_samples_the_ema_when_on():
    pl.seed_everything(0)
    module = GAN(G, D, data_shape=(2,), ema_decay=0.5)
    snapshots = []

    class AtStageEnd(pl.Callback):  # runs before AdaGAN's epoch-end hook: the weights the stage ends with
        def on_train_epoch_end(self, trainer, pl_module):
            snapshots.append([p.detach().clone() for p in pl_module.sampling_generator.parameters()])
            snapshots.append([p.detach().clone() for p in pl_module.generator.parameters()])

    adagan = AdaGAN(stages=1, epochs_per_stage=1, classifier_steps=2, eval_samples=100)
    fit(module, ring(), [AtStageEnd(), adagan], max_epochs=1)
    frozen = list(adagan.mixture.components[0].parameters())
    ema, raw = snapshots
    assert all(torch.equal(a, b) for a, b in zip(frozen, ema))
    assert not all(torch.equal(a, b) for a, b in zip(frozen, raw))  # the EMA lags the generator
