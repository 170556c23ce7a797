"""PacGAN packing (Lin et al. 2018): hand-packed batches, whole packs, one score a pack, m = 1 unchanged."""

import copy
from functools import partial

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from lightning_gans.gan_modules import OptimizerSpec
from lightning_gans.gan_modules.alpha_gan import AlphaGAN
from lightning_gans.gan_modules.losses import non_saturating_loss
from lightning_gans.gan_modules.networks import MLPDiscriminator, MLPEncoder, MLPGenerator
from lightning_gans.gan_modules.training.packing import pack, packed_shape
from lightning_gans.gan_modules.wgan_gp import WGANGP
from tiny import FixedNoiseGAN, LinearDiscriminator, LinearGenerator, make_trainer


def test_pack_concatenates_consecutive_examples():
    x = torch.arange(12.0).view(6, 2)  # rows (0, 1), (2, 3), ...
    assert pack(x, 3).tolist() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]
    assert pack(x, 2).tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert pack(x, 1) is x


def test_images_are_packed_along_the_channel_axis():
    images = torch.randn(4, 3, 2, 2)
    packed = pack(images, 2)
    assert packed.shape == (2, 6, 2, 2)
    assert torch.equal(packed[1, :3], images[2]) and torch.equal(packed[1, 3:], images[3])
    assert packed_shape((3, 2, 2), 2) == (6, 2, 2)
    assert packed_shape((2,), 4) == (8,)


@pytest.mark.parametrize("m", [0, -1, 1.5, True])
def test_bad_packing_is_rejected(m):
    with pytest.raises(ValueError, match="packing must be a positive integer"):
        pack(torch.zeros(4, 2), m)


def test_a_batch_must_split_into_whole_packs():
    with pytest.raises(ValueError, match="multiple of 3"):
        pack(torch.zeros(8, 2), 3)


def test_a_packs_score_depends_on_all_of_its_members_and_no_other_example():
    torch.manual_seed(0)
    module = FixedNoiseGAN(MLPGenerator, MLPDiscriminator, packing=3, codes=[])
    assert module.discriminator.body[1].in_features == 6  # built for the packed shape (2 m,)
    x = torch.randn(6, 2, requires_grad=True)
    scores = module.discriminator(module.pack(x))
    assert scores.shape == (2,)
    (grad,) = torch.autograd.grad(scores[0], x)
    assert (grad[:3].abs().sum(1) > 0).all()  # every member of pack 0 moves its score
    assert (grad[3:] == 0).all()  # the members of pack 1 do not


def sgd(lr):
    return OptimizerSpec(name="sgd", lr=lr)


def by_hand(generator, discriminator, real, z1, z2, hand_pack):
    """One alternating GAN update (Algorithm 1) with torch's own SGD, inputs packed by ``hand_pack``."""
    g, d = copy.deepcopy(generator), copy.deepcopy(discriminator)
    opt_g, opt_d = torch.optim.SGD(g.parameters(), lr=0.1), torch.optim.SGD(d.parameters(), lr=0.05)
    d_loss = non_saturating_loss(d(hand_pack(real)), d(hand_pack(g(z1).detach()))).discriminator
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = non_saturating_loss(None, d(hand_pack(g(z2)))).generator
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return g, d


@pytest.mark.parametrize("m, hand_pack", [
    (1, lambda x: x),
    (2, lambda x: torch.cat([x[0::2], x[1::2]], dim=1)),  # pack k = (x_2k, x_2k+1)
])
def test_one_update_matches_hand_packed_batches_bit_for_bit(m, hand_pack):
    """m = 1 is the unpacked update; m = 2 packs the real batch and the fake batch apart, in order."""
    torch.manual_seed(0)
    real = torch.randn(8, 2)
    z1, z2 = torch.randn(8, 2), torch.randn(8, 2)
    module = FixedNoiseGAN(LinearGenerator, LinearDiscriminator, packing=m, codes=[z1, z2],
                           generator_optimizer=sgd(0.1), discriminator_optimizer=sgd(0.05))
    assert module.discriminator.linear.in_features == 2 * m
    g, d = by_hand(module.generator, module.discriminator, real, z1, z2, hand_pack)
    make_trainer().fit(module, DataLoader(TensorDataset(real, torch.zeros(8)), batch_size=8))
    for p, expected in zip([*module.discriminator.parameters(), *module.generator.parameters()],
                           [*d.parameters(), *g.parameters()]):
        assert torch.equal(p, expected)


def test_gradient_penalty_sees_packed_inputs():
    """Every input the critic gets (reals, fakes, the penalty's interpolates) is a batch of packs."""
    torch.manual_seed(0)
    module = WGANGP(MLPGenerator, MLPDiscriminator, packing=4, n_critic=1)
    widths = []
    module.discriminator.register_forward_hook(lambda _, inputs, __: widths.append(tuple(inputs[0].shape)))
    real = torch.randn(16, 2)
    make_trainer(max_steps=2).fit(module, DataLoader(TensorDataset(real, torch.zeros(16)), batch_size=16))
    assert len(widths) == 4  # critic step: real, fake, interpolates; generator step: fake
    assert set(widths) == {(4, 8)}


def test_alpha_gans_data_discriminator_scores_packs_of_one_kind():
    """alpha-GAN's own training step packs reals, reconstructions and samples apart (5 calls a batch)."""
    torch.manual_seed(0)
    module = AlphaGAN(partial(MLPGenerator, hidden=6, n_layers=1), partial(MLPDiscriminator, hidden=6, n_layers=1),
                      encoder=partial(MLPEncoder, hidden=6, n_layers=1),
                      code_discriminator=partial(MLPDiscriminator, hidden=5, n_layers=1), packing=2)
    widths = []
    module.discriminator.register_forward_hook(lambda _, inputs, __: widths.append(tuple(inputs[0].shape)))
    make_trainer().fit(module, DataLoader(TensorDataset(torch.randn(8, 2), torch.zeros(8)), batch_size=8))
    assert widths == [(4, 4)] * 5


def test_validation_scores_whole_packs_of_held_out_data_and_of_samples():
    """Held-out batches (7 examples: a last pack left incomplete) reach the critic as whole packs."""
    torch.manual_seed(0)
    module = WGANGP(MLPGenerator, MLPDiscriminator, packing=2, n_critic=1)
    widths = []
    module.discriminator.register_forward_hook(lambda _, inputs, __: widths.append(tuple(inputs[0].shape)))
    held_out = DataLoader(TensorDataset(torch.randn(7, 2), torch.zeros(7)), batch_size=7)
    results = make_trainer().validate(module, held_out)
    assert widths == [(3, 4), (3, 4)]  # 6 real examples in 3 packs, then 6 samples in 3 packs
    assert set(results[0]) == {"val/discriminator_real", "val/discriminator_fake"}
