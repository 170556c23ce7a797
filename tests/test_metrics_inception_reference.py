"""The library's Inception path equals torch-fidelity's: features, FID and KID, on weights written here."""

import math

import pytest
import torch
import torch_fidelity
from torch import nn
from torch.utils.data import Dataset
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
from torchmetrics.image.fid import NoTrainInceptionV3

from lightning_gans.gan_modules.metrics.fid_helper_weights import inception_skeleton
from lightning_gans.gan_modules.metrics.images import to_rgb_uint8
from lightning_gans.gan_modules.metrics.inception import build_fid, build_kid, inception_extractor

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def he_initialised_weights(tmp_path_factory):
    """torch-fidelity's Inception-v3 with He-normal convolutions [He et al. 2015, Eq. 10], so features
    neither vanish nor explode through the 94 layers (PyTorch's default init shrinks them to ~0)."""
    torch.manual_seed(0)
    net = inception_skeleton()
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    path = tmp_path_factory.mktemp("inception") / "inception_he.pth"
    torch.save(net.state_dict(), path)
    return path


def digits_like(n, side, seed, brightness=0.0):
    """Fixed grey images in [-1, 1] (blobs of random intensity), the library's input format."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 1, 4, 4, generator=generator) * 2 - 1 + brightness
    images = nn.functional.interpolate(coarse, size=(side, side), mode="bilinear", align_corners=False)
    return (images + 0.1 * torch.randn(n, 1, side, side, generator=generator)).clamp(-1, 1)


@pytest.mark.parametrize("side", [8, 28, 32, 64])
def test_features_equal_torch_fidelity(he_initialised_weights, side):
    reference = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                            feature_extractor_weights_path=str(he_initialised_weights))
    ours = inception_extractor(he_initialised_weights, features=("2048",))
    images = to_rgb_uint8(digits_like(2, side, seed=side))
    with torch.no_grad():
        want, got = reference(images)[0], ours(images)[0]
    assert want.abs().max() > 1e-2  # the features carry signal
    assert (got - want).abs().max() <= 1e-5


def test_torchmetrics_antialiased_default_differs(he_initialised_weights):
    """What the equality above guards against: torchmetrics' default resize changes the features."""
    reference = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                            feature_extractor_weights_path=str(he_initialised_weights))
    antialiased = NoTrainInceptionV3("inception-v3-compat", ["2048"], str(he_initialised_weights))
    images = to_rgb_uint8(digits_like(2, 64, seed=64))
    with torch.no_grad():
        want, got = reference(images)[0], antialiased(images)
    assert (got - want).abs().max() > 1e-3 * want.abs().max()


class _Images(Dataset):
    def __init__(self, images):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return self.images[index]


def test_fid_and_kid_equal_torch_fidelity_calculate_metrics(he_initialised_weights):
    """On the 64-d first pooling features (N = 72 > 64, so the covariances are full rank) to keep the
    299 px forward cheap.  KID subsets of all N samples make the value independent of subset sampling."""
    n = 72
    real = to_rgb_uint8(digits_like(n, 28, seed=1))
    fake = to_rgb_uint8(digits_like(n, 28, seed=2, brightness=0.3))
    reference = torch_fidelity.calculate_metrics(
        input1=_Images(fake), input2=_Images(real), cuda=False, fid=True, kid=True, batch_size=36,
        feature_extractor="inception-v3-compat", feature_extractor_weights_path=str(he_initialised_weights),
        feature_layer_fid="64", feature_layer_kid="64", kid_subsets=2, kid_subset_size=n, cache=False, save_cpu_ram=True,
        verbose=False,
    )
    extractor = inception_extractor(he_initialised_weights, features=("64",))
    fid, kid = build_fid(num_features=64), build_kid(num_features=64, subsets=2, subset_size=n)
    with torch.no_grad():
        for images, is_real in ((real, True), (fake, False)):
            for batch in images.split(36):
                features = extractor(batch)[0]
                fid.update(features, real=is_real)
                kid.update(features, real=is_real)
    kid_mean, _ = kid.compute()
    want_fid, want_kid = reference["frechet_inception_distance"], reference["kernel_inception_distance_mean"]
    assert want_fid > 1.0 and want_kid > 0.0  # the sets differ
    assert math.isclose(float(fid.compute()), want_fid, rel_tol=1e-4)
    assert math.isclose(float(kid_mean), want_kid, rel_tol=1e-4)
