"""SampleFigures draws its pictures without touching the training run's random numbers."""

import lightning.pytorch as pl
import torch

from lightning_gans.callbacks.samples import SampleFigures
from lightning_gans.gan_modules import GAN
from tiny import LinearDiscriminator, LinearGenerator, loader, make_trainer


def _trained_generator(callbacks, seed=0):
    pl.seed_everything(seed, verbose=False)
    model = GAN(LinearGenerator(), LinearDiscriminator())
    make_trainer(callbacks=callbacks).fit(model, loader(10))
    return model.generator.linear.weight.detach().clone()


def test_drawing_pictures_leaves_training_identical(tmp_path):
    figures = SampleFigures(every_n_steps=2, n_samples=50, output_dir=str(tmp_path))
    with_pictures = _trained_generator([figures])
    assert len(list(tmp_path.glob("step_*.png"))) == 10  # every 2 of 20 optimizer steps (the last one at fit end)
    assert torch.equal(with_pictures, _trained_generator([]))


def test_every_picture_uses_the_same_latent_draws(tmp_path):
    model = GAN(LinearGenerator(), LinearDiscriminator())
    figures = SampleFigures(n_samples=20, output_dir=str(tmp_path), seed=3)
    drawn = []
    model.sample = lambda n: drawn.append(GAN.sample(model, n)) or drawn[-1]
    trainer = make_trainer(max_steps=1)
    trainer.fit(model, loader(1))  # one step, so that the module is attached to a trainer
    figures.setup(trainer, model, "fit")
    torch.manual_seed(0)
    figures.draw(trainer, model)
    figures.draw(trainer, model)
    assert len(drawn) == 2 and torch.equal(drawn[0], drawn[1])
    assert not torch.equal(drawn[0], GAN.sample(model, 20))  # the global RNG did not produce them


class RecordingSampler:
    """Any model with ``sample(n)``, ``data_shape`` and ``device``: records how many samples it was asked for."""

    device = torch.device("cpu")

    def __init__(self, data_shape):
        self.data_shape, self.requested = data_shape, []

    def sample(self, n):
        self.requested.append(n)
        return torch.rand(n, *self.data_shape) * 2 - 1


def test_draw_samples_pictures_any_model_under_the_given_name_and_seed(tmp_path):
    model = GAN(LinearGenerator(), LinearDiscriminator())
    trainer = make_trainer(max_steps=1)
    trainer.fit(model, loader(1))
    figures = SampleFigures(n_samples=30, n_images=4, output_dir=str(tmp_path))
    figures.setup(trainer, model, "fit")
    points, images = RecordingSampler((2,)), RecordingSampler((1, 8, 8))
    rng = torch.get_rng_state()
    assert figures.draw_samples(trainer, points, "points", "mixture_a", seed=1) == tmp_path / "mixture_a.png"
    assert figures.draw_samples(trainer, images, "images", "mixture_b") == tmp_path / "mixture_b.png"
    assert torch.equal(torch.get_rng_state(), rng)  # drawn in a forked RNG
    assert points.requested == [30] and images.requested == [4]  # a scatter of points, a grid of images
    assert (tmp_path / "mixture_a.png").stat().st_size > 0 and (tmp_path / "mixture_b.png").stat().st_size > 0
    drawn = []  # the seed fixes the draws: the same seed twice gives the same samples
    points.sample = lambda n: drawn.append(RecordingSampler.sample(points, n)) or drawn[-1]
    figures.draw_samples(trainer, points, "points", "again", seed=1)
    figures.draw_samples(trainer, points, "points", "again", seed=1)
    figures.draw_samples(trainer, points, "points", "other", seed=2)
    assert torch.equal(drawn[0], drawn[1]) and not torch.equal(drawn[0], drawn[2])
