"""The project's own loss and penalty, named in ``own_loss.yaml`` by dotted path and registered nowhere."""

import torch


def squared_hinge_loss(real_scores, fake_scores):
    """The hinge loss with squared margins: the discriminator ``E[max(0, 1 - D(x))^2] + E[max(0, 1 + D(G(z)))^2]``,
    the generator ``-E[D(G(z))]``; a plain ``(discriminator, generator)`` pair, as a user writes it."""
    discriminator = torch.relu(1 - real_scores).square().mean() + torch.relu(1 + fake_scores).square().mean()
    return discriminator, -fake_scores.mean()


def drift_penalty(discriminator, real, fake, scaler=None):
    """Karras et al. 2018 (ProGAN, arXiv:1710.10196, Sec. A.1): ``E[D(x)^2]``, keeping the real scores near 0."""
    return discriminator(real).float().square().mean()
