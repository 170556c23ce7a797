"""The real-feature cache: same key reuses, any changed key part recomputes, files are whole or absent,
and the evaluation callback gives the same numbers from the cache as from the extractor."""

import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from lightning_gans.callbacks.evaluation import Evaluation
from lightning_gans.gan_modules.metrics import digits_classifier, feature_cache
from lightning_gans.gan_modules.metrics.digits_classifier import DigitsClassifier
from lightning_gans.gan_modules.metrics.feature_cache import (
    FeatureKey,
    RealFeatureCache,
    RealFeatureSource,
    feed_real_examples,
    weights_digest,
)
from lightning_gans.gan_modules.metrics.fid_helper_weights import inception_skeleton
from lightning_gans.gan_modules.metrics.images import to_rgb_uint8
from lightning_gans.gan_modules.metrics.inception import InceptionMetrics

sys.path.insert(0, str(Path(__file__).parent / "scripts"))
from evaluation_fixtures import PointsModule, TensorDataModule, make_trainer  # noqa: E402


class CountingSuite(nn.Module):
    """A :class:`RealFeatureSource` with a tiny linear extractor that counts the examples it extracts."""

    needs_real = True
    feature_name = "tiny-linear"

    def __init__(self, seed: int = 0, dim: int = 4) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.extractor = nn.Linear(dim, 3)
        self.extracted = 0
        self.fed: list[torch.Tensor] = []

    def real_features(self, examples):
        self.extracted += len(examples)
        return self.extractor(examples)

    def update_real_features(self, features):
        self.fed.append(features)


class RawSuite(nn.Module):
    """A suite fed raw examples (as PRDC / MMD on raw vectors)."""

    def __init__(self) -> None:
        super().__init__()
        self.fed: list[torch.Tensor] = []

    def update(self, examples, real=False):
        assert real
        self.fed.append(examples)


def examples(n=10, dim=4, seed=0):
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


def feed(suites, data, cache, dataset="Moons", split="train_dataset", batch_size=4):
    feed_real_examples(suites, lambda: iter(data.split(batch_size)), cache, dataset=dataset, split=split,
                       n=len(data), rows=(0, len(data)), device=torch.device("cpu"))


def test_the_protocol_is_what_the_suites_implement():
    assert isinstance(CountingSuite(), RealFeatureSource)
    assert not isinstance(RawSuite(), RealFeatureSource)


def test_the_same_key_reuses_the_features_in_the_same_batches(tmp_path):
    cache, data = RealFeatureCache(tmp_path), examples()
    first, second = CountingSuite(), CountingSuite()
    feed([first], data, cache)
    feed([second], data, cache)
    assert first.extracted == 10 and second.extracted == 0
    assert [len(f) for f in second.fed] == [4, 4, 2]  # the partition of the extraction
    assert all(torch.equal(a, b) for a, b in zip(first.fed, second.fed))
    (saved,) = (tmp_path / "real_features").iterdir()
    assert saved.name.startswith("Moons-train_dataset-n10-tiny-linear-w")


@pytest.mark.parametrize("change", ["n", "split", "dataset", "weights", "examples"])
def test_a_changed_key_recomputes(tmp_path, change):
    cache, data = RealFeatureCache(tmp_path), examples(n=10)
    feed([CountingSuite()], data, cache)
    suite = CountingSuite(seed=1 if change == "weights" else 0)
    options = {"split": "val_dataset"} if change == "split" else {"dataset": "Circles"} if change == "dataset" else {}
    if change == "n":
        data = examples(n=12)  # the same seed: the first 10 examples agree
    elif change == "examples":
        data = data.clone()
        data[3, 0] += 1e-3
    feed([suite], data, cache, **options)
    assert suite.extracted == len(data)
    assert len(list((tmp_path / "real_features").iterdir())) == 2


def test_raw_suites_get_the_examples_once_and_sources_their_features(tmp_path):
    cache, data = RealFeatureCache(tmp_path), examples()
    for _ in range(2):
        raw, source = RawSuite(), CountingSuite()
        feed([raw, source], data, cache)
        assert torch.equal(torch.cat(raw.fed), data)
        assert torch.cat(source.fed).shape == (10, 3)


def test_a_corrupt_file_is_recomputed_with_a_one_line_warning_and_rewritten(tmp_path):
    cache, data = RealFeatureCache(tmp_path), examples()
    feed([CountingSuite()], data, cache)
    (path,) = (tmp_path / "real_features").iterdir()
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])  # a truncated file
    suite = CountingSuite()
    with pytest.warns(UserWarning, match="unreadable, recomputing") as caught:
        feed([suite], data, cache)
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    assert suite.extracted == 10
    assert path.read_bytes() != whole[: len(whole) // 2]
    again = CountingSuite()
    feed([again], data, cache)
    assert again.extracted == 0


def test_a_file_of_another_key_under_this_name_is_recomputed(tmp_path):
    cache, data = RealFeatureCache(tmp_path), examples()
    feed([CountingSuite()], data, cache)
    (path,) = (tmp_path / "real_features").iterdir()
    saved = torch.load(path, weights_only=True)
    saved["key"]["examples"] = "0" * 64
    torch.save(saved, path)
    suite = CountingSuite()
    with pytest.warns(UserWarning, match="stored key differs"):
        feed([suite], data, cache)
    assert suite.extracted == 10


def test_an_interrupted_write_leaves_no_file(tmp_path, monkeypatch):
    def interrupted(obj, destination):
        Path(destination).write_bytes(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(feature_cache.torch, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        feed([CountingSuite()], examples(), RealFeatureCache(tmp_path))
    assert list((tmp_path / "real_features").iterdir()) == []


def test_an_unwritable_cache_warns_and_the_features_still_arrive(tmp_path):
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    suite = CountingSuite()
    with pytest.warns(UserWarning, match="real features not cached"):
        feed([suite], examples(), RealFeatureCache(not_a_directory))
    assert torch.cat(suite.fed).shape == (10, 3)


def test_the_default_location_is_the_library_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LIGHTNING_GANS_CACHE", str(tmp_path))
    assert RealFeatureCache().directory == tmp_path / "real_features"


def test_weights_digest_is_computed_once_per_module_and_follows_the_weights(monkeypatch):
    first, other = CountingSuite(seed=0).extractor, CountingSuite(seed=1).extractor
    digest = weights_digest(first)
    assert digest == weights_digest(CountingSuite(seed=0).extractor) != weights_digest(other)
    monkeypatch.setattr(first, "state_dict", lambda: pytest.fail("hashed twice"))
    assert weights_digest(first) == digest


def test_ddp_shares_have_keys_of_their_own():
    key = FeatureKey("MNIST5k", "train_dataset", 1000, (500, 1000), "a" * 64, "inception", "b" * 64)
    assert "-n1000-rows500-1000-" in key.filename()
    assert "rows" not in FeatureKey("MNIST5k", "train_dataset", 1000, (0, 1000), "a" * 64, "i", "b" * 64).filename()


# ---------------------------------------------------------------- the metric suites
@pytest.fixture(scope="module")
def random_inception_weights(tmp_path_factory):
    """A randomly initialised ``inception-v3-compat`` state dict (no download)."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("inception") / "inception_random.pth"
    torch.save(inception_skeleton().state_dict(), path)
    return path


@pytest.mark.usefixtures("one_thread")
def test_inception_suite_from_the_cache_equals_the_extractor(tmp_path, random_inception_weights):
    """6 real 8 x 8 images: the second suite extracts nothing and holds the same FID / KID / PRDC real states."""
    images = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    cache, suites = RealFeatureCache(tmp_path / "cache"), []
    for _ in range(2):
        suite = InceptionMetrics(["fid", "kid", "prdc_inception"], random_inception_weights, download=False,
                                 prdc_nearest_k=2)
        calls = []
        suite.extractor.register_forward_pre_hook(lambda module, args: calls.append(len(args[0])))
        feed([suite], images, cache, batch_size=4)
        suites.append((suite, calls))
    (first, first_calls), (second, second_calls) = suites
    assert first_calls == [4, 2] and second_calls == []
    fid_a, fid_b = first.metrics["fid"], second.metrics["fid"]
    assert torch.equal(fid_a.real_features_sum, fid_b.real_features_sum)
    assert torch.equal(fid_a.real_features_cov_sum, fid_b.real_features_cov_sum)
    assert torch.equal(torch.cat(first.metrics["kid"].real_features), torch.cat(second.metrics["kid"].real_features))
    assert torch.equal(first.metrics["prdc_inception"].real(), second.metrics["prdc_inception"].real())


class PoolOfMeans(nn.Module):
    """A stand-in for the Inception extractor: each image's mean pixel as 2048 "pool features" and 1008 "logits"."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []

    def forward(self, images):
        self.calls.append(len(images))
        means = images.float().mean((1, 2, 3))[:, None]
        return means.expand(-1, 2048), means.expand(-1, 1008)


@pytest.mark.parametrize("batch, chunks", [(31, [31]), (32, [16, 16]), (100, [17, 17, 17, 17, 16, 16])])
def test_inception_runs_on_cpu_chunks_of_16_to_31_images_in_order(random_inception_weights, batch, chunks):
    suite = InceptionMetrics(["fid", "is"], random_inception_weights, download=False)
    suite.extractor = PoolOfMeans()
    images = torch.rand(batch, 1, 8, 8, generator=torch.Generator().manual_seed(batch)) * 2 - 1
    features = suite.real_features(images)
    suite.update(images)
    assert suite.extractor.calls == chunks * 2
    assert torch.equal(features[:, 0], to_rgb_uint8(images).float().mean((1, 2, 3)))


@pytest.fixture
def counted_digits_classifier(monkeypatch):
    """An untrained (seeded) digits classifier instead of the trained one; counts the examples it sees."""
    seen = []

    def load(cache_dir=None):
        torch.manual_seed(0)
        classifier = DigitsClassifier().eval().requires_grad_(False)
        classifier.body.register_forward_pre_hook(lambda module, args: seen.append(len(args[0])))
        return classifier

    monkeypatch.setattr(digits_classifier, "load_digits_classifier", load)
    return seen


def evaluate_digits(cache_dir, n_real=20):
    digits = torch.rand(30, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    callback = Evaluation(metrics=["digits"], n_samples=12, n_real=n_real, batch_size=8, cache_dir=str(cache_dir),
                          max_time_fraction=None)
    make_trainer(max_steps=1, callbacks=[callback]).fit(PointsModule(digits[20:]), datamodule=TensorDataModule(digits))
    return callback.last_results


def test_a_second_run_reuses_the_real_features_with_the_same_numbers(tmp_path, counted_digits_classifier):
    first = evaluate_digits(tmp_path)
    assert sum(counted_digits_classifier) == 20 + 12  # real and generated digits
    counted_digits_classifier.clear()
    second = evaluate_digits(tmp_path)
    assert sum(counted_digits_classifier) == 12  # generated digits only
    assert second["eval/digits_frechet_distance"] == first["eval/digits_frechet_distance"]
    (saved,) = (tmp_path / "real_features").iterdir()
    assert saved.name.startswith("TensorDataModule-train_dataset-n20-digits-classifier-penultimate-w")
    counted_digits_classifier.clear()
    evaluate_digits(tmp_path, n_real=16)  # another N
    assert sum(counted_digits_classifier) == 16 + 12
