"""Datamodules: exact mixtures, digits scaling, reweightable sampling, torchvision sets from files the test writes."""

import math
import pickle
import re
import struct
from urllib.error import URLError

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from torch.utils.data import DataLoader, TensorDataset

from lightning_gans.datamodules.in_memory import InMemoryDataset, StackedSamples, collate

from lightning_gans.datamodules import (CIFAR10, MNIST, DatasetNotFoundError, Digits, GridOfGaussians, ImageFolder,
                         ReweightableSampler, RingOfGaussians)


def test_ring_centres_are_exact_and_distinct():
    ring = RingOfGaussians(n_modes=8, radius=1.0)
    angles = torch.arange(8, dtype=torch.float64) * 2 * math.pi / 8
    expected = torch.stack([angles.cos(), angles.sin()], 1).float()
    torch.testing.assert_close(ring.centres, expected)
    distances = torch.cdist(ring.centres, ring.centres) + torch.eye(8) * 10
    assert distances.min() > 0.76  # 2 sin(pi/8): no two modes coincide (the linspace bug would give 0)


def test_grid_centres_are_pacgans_means():
    grid = GridOfGaussians()
    expected = {(float(i), float(j)) for i in range(-4, 5, 2) for j in range(-4, 5, 2)}
    assert {tuple(c) for c in grid.centres.tolist()} == expected


@pytest.mark.parametrize("data", [RingOfGaussians(n_train=20_000), GridOfGaussians(n_train=20_000)])
def test_points_lie_near_their_labelled_mode_and_modes_are_balanced(data):
    data.setup()
    points, labels = data.train_dataset.tensors
    assert points.shape == (20_000, 2) and data.data_shape == (2,)
    distance = (points - data.centres[labels]).norm(dim=1) / data.std
    assert distance.max() < 6
    counts = torch.bincount(labels, minlength=data.n_modes).float()
    expected = 20_000 / data.n_modes
    assert ((counts - expected).abs() < 5 * math.sqrt(expected)).all()


def test_toy_data_is_reproducible_from_its_seed_only():
    a, b, c = RingOfGaussians(n_train=500, seed=1), RingOfGaussians(n_train=500, seed=1), RingOfGaussians(n_train=500, seed=2)
    for d in (a, b, c):
        torch.manual_seed(len(str(d)))  # the global RNG must not matter
        d.setup()
    assert torch.equal(a.train_dataset.tensors[0], b.train_dataset.tensors[0])
    assert not torch.equal(a.train_dataset.tensors[0], c.train_dataset.tensors[0])


@pytest.mark.parametrize("make, message", [
    (lambda: RingOfGaussians(n_modes=0), "n_modes"), (lambda: RingOfGaussians(std=0.0), "std"),
    (lambda: GridOfGaussians(grid_size=0), "grid_size"), (lambda: GridOfGaussians(std=float("nan")), "std"),
    (lambda: RingOfGaussians(n_train=0), "n_train"), (lambda: RingOfGaussians(batch_size=0), "batch_size"),
])
def test_toy_arguments_are_validated(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_digits_are_8x8_in_minus_one_one_with_a_split():
    digits = Digits(val_fraction=0.2)
    digits.setup()
    x, y = digits.train_dataset.tensors
    assert digits.data_shape == (1, 8, 8) and x.shape[1:] == (1, 8, 8)
    assert x.min() == -1 and x.max() == 1
    assert len(digits.train_dataset) + len(digits.val_dataset) == 1797
    assert len(digits.val_dataset) == 359 and set(y.tolist()) == set(range(10))
    x_val = digits.val_dataset.tensors[0]
    assert not (x_val[:, None] == x[None, :50]).flatten(2).all(2).any()  # held-out images are not train images


def test_sampler_without_weights_is_a_permutation_each_epoch():
    sampler = ReweightableSampler(100, base_seed=0)
    first, second = list(sampler), list(sampler)
    assert sorted(first) == list(range(100)) and sorted(second) == list(range(100))
    assert first != second


def test_weighted_sampling_follows_the_weights():
    weights = torch.zeros(1000)
    weights[[3, 500, 999]] = torch.tensor([1.0, 2.0, 7.0])
    sampler = ReweightableSampler(1000, weights=weights, base_seed=0)
    draws = torch.tensor([i for _ in range(20) for i in sampler])
    assert set(draws.tolist()) == {3, 500, 999}
    observed = torch.stack([(draws == i).sum() for i in (3, 500, 999)]).double()
    expected = torch.tensor([0.1, 0.2, 0.7], dtype=torch.float64) * len(draws)
    chi_square = (((observed - expected) ** 2) / expected).sum()
    assert chi_square < 13.8  # 99.9% quantile of chi-square with 2 degrees of freedom


def test_samplers_with_one_seed_agree_and_resume_from_their_state():
    """Every DDP rank must build the same epoch list; a resumed sampler continues the sequence."""
    a, b = ReweightableSampler(50, base_seed=7), ReweightableSampler(50, base_seed=7)
    assert list(a) == list(b)
    state = a.state_dict()
    expected_next = list(a)
    resumed = ReweightableSampler(50, base_seed=0)
    resumed.load_state_dict(state)
    assert list(resumed) == expected_next


def test_new_weights_apply_from_the_next_epoch_and_none_restores_permutations():
    sampler = ReweightableSampler(100, base_seed=3)
    epoch = iter(sampler)
    first_half = [next(epoch) for _ in range(50)]
    weights = torch.zeros(100)
    weights[7] = 1.0
    sampler.set_weights(weights)
    assert sorted(first_half + list(epoch)) == list(range(100))  # the running epoch is unchanged
    assert list(sampler) == [7] * 100
    sampler.set_weights(None)
    assert sorted(sampler) == list(range(100))


def test_base_seed_comes_from_the_global_rng():
    """``seed_everything`` (same global seed on every rank) gives every rank the same draws."""
    torch.manual_seed(11)
    a = ReweightableSampler(30)
    torch.manual_seed(11)
    b = ReweightableSampler(30)
    torch.manual_seed(12)
    c = ReweightableSampler(30)
    assert a.base_seed == b.base_seed != c.base_seed
    assert list(a) == list(b) != list(c)


@pytest.mark.parametrize("weights, message", [
    (torch.ones(3), "expected 10 weights"), (-torch.ones(10), "non-negative"),
    (torch.zeros(10), "positive sum"), (torch.full((10,), float("nan")), "finite"),
    (torch.ones(10, 1), "expected 10 weights"), (torch.full((10,), float("inf")), "finite"),
])
def test_bad_weights_are_rejected(weights, message):
    with pytest.raises(ValueError, match=message):
        ReweightableSampler(10).set_weights(weights)


def test_datamodule_weights_take_effect_and_are_checkpointed():
    ring = RingOfGaussians(n_train=512, batch_size=64)
    weights = torch.zeros(512)
    weights[:4] = 1
    ring.set_sample_weights(weights)
    batches = list(ring.train_dataloader())
    assert len(batches) == 8
    first_four = ring.train_dataset.tensors[0][:4]
    assert all((x[:, None] == first_four[None]).all(-1).any(1).all() for x, _ in batches)
    restored = RingOfGaussians(n_train=512, batch_size=64)
    restored.load_state_dict(ring.state_dict())  # before its sampler exists: applied when it is built
    torch.testing.assert_close(restored.sample_weights, ring.sample_weights)
    assert list(restored.sampler) == list(ring.sampler)  # the same next epoch


def test_val_dataloader_serves_the_held_out_split_in_order(tmp_path):
    digits = Digits(batch_size=100)
    x, y = zip(*digits.val_dataloader())
    torch.testing.assert_close(torch.cat(x), digits.val_dataset.tensors[0])
    assert torch.equal(torch.cat(y), digits.val_dataset.tensors[1]) and y[0].dtype == torch.int64
    (tmp_path / "a").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "a" / "0.png")
    assert ImageFolder(str(tmp_path), image_size=8, batch_size=1).val_dataloader() == []


@pytest.mark.parametrize("workers", [0, 1])
def test_in_memory_batches_equal_example_by_example_batches(workers):
    x, y = torch.randn(300, 1, 8, 8), torch.randint(0, 10, (300,))

    def batches(dataset, **kwargs):
        return list(DataLoader(dataset, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(3),
                               num_workers=workers, **kwargs))

    expected = batches(TensorDataset(x, y))  # one dataset[i] a example, stacked by default_collate
    for got in (batches(InMemoryDataset(x, y), collate_fn=collate), batches(InMemoryDataset(x, y))):
        assert len(got) == len(expected) == 5
        for (gx, gy), (ex, ey) in zip(got, expected):
            assert type(gx) is type(ex) and gx.dtype == ex.dtype and gy.dtype == ey.dtype
            assert torch.equal(gx, ex) and torch.equal(gy, ey)


def test_in_memory_batch_is_one_index_per_tensor_and_collate_keeps_it():
    x, y = torch.arange(10.0)[:, None], torch.arange(10)
    fetched = InMemoryDataset(x, y).__getitems__([7, 2, 2])
    assert isinstance(fetched, StackedSamples) and len(fetched) == 3
    assert fetched[1] == (x[2], y[2]) and [tuple(map(int, s)) for s in fetched] == [(7, 7), (2, 2), (2, 2)]
    collated = collate(fetched)
    assert collated[0].data_ptr() == fetched.tensors[0].data_ptr()  # handed on, not copied
    assert collated[1].tolist() == [7, 2, 2]


def test_library_loaders_read_a_batch_at_a_time(monkeypatch):
    ring, digits = RingOfGaussians(n_train=256, batch_size=64), Digits(batch_size=64)
    single = []
    monkeypatch.setattr(TensorDataset, "__getitem__", lambda self, i: single.append(i))
    assert [len(x) for x, _ in ring.train_dataloader()] == [64] * 4
    assert sum(len(x) for x, _ in digits.val_dataloader()) == len(digits.val_dataset)
    assert single == []


def write_idx(path, array):
    dims = array.shape
    header = struct.pack(">HBB", 0, 0x08, len(dims)) + b"".join(struct.pack(">I", d) for d in dims)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_mnist_reads_idx_files(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 6), ("t10k", 4)):
        images = rng.integers(0, 256, (n, 28, 28))
        images[0, 0, 0], images[0, 0, 1] = 0, 255
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    mnist = MNIST(str(tmp_path), batch_size=3)
    mnist.setup()
    x, y = mnist.train_dataset[0]
    assert mnist.data_shape == (1, 28, 28) and x.shape == (1, 28, 28)
    assert x[0, 0, 0] == -1 and x[0, 0, 1] == 1 and y == 0
    assert len(mnist.train_dataset) == 6 and len(mnist.val_dataset) == 4
    batches = list(mnist.train_dataloader())
    xs, ys = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
    assert xs.shape == (6, 1, 28, 28) and xs.min() >= -1 and xs.max() <= 1
    assert sorted(ys.tolist()) == list(range(6)) and ys.dtype == torch.int64


def test_cifar10_reads_pickled_batches(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (2, 3 * 32 * 32), dtype=np.uint8)
        data[0, :1024] = 255  # red channel of the first image saturated
        with open(folder / name, "wb") as f:
            pickle.dump({"data": data, "labels": [3, 7]}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, f)
    cifar = CIFAR10(str(tmp_path))
    cifar.setup()
    x, y = cifar.train_dataset[0]
    assert cifar.data_shape == (3, 32, 32) and x.shape == (3, 32, 32) and (x[0] == 1).all() and y == 3
    assert x.min() >= -1 and x.max() <= 1 and cifar.train_dataset[1][1] == 7
    assert len(cifar.train_dataset) == 10 and len(cifar.val_dataset) == 2


def test_image_folder_reads_pngs(tmp_path):
    for label, colour in (("a", (255, 0, 0)), ("b", (0, 0, 255))):
        (tmp_path / label).mkdir()
        for i in range(2):
            Image.new("RGB", (40, 48), colour).save(tmp_path / label / f"{i}.png")
    folder = ImageFolder(str(tmp_path), image_size=32)
    folder.setup()
    x, y = folder.train_dataset[0]
    assert folder.data_shape == (3, 32, 32) and x.shape == (3, 32, 32) and y == 0
    torch.testing.assert_close(x[:, 16, 16], torch.tensor([1.0, -1.0, -1.0]))
    assert folder.train_dataset[3][1] == 1 and folder.val_dataset is None
    grey = ImageFolder(str(tmp_path), image_size=8, channels=1)
    grey.setup()
    x, _ = grey.train_dataset[3]
    assert grey.data_shape == x.shape == (1, 8, 8)
    torch.testing.assert_close(x, torch.full((1, 8, 8), 2 * 29 / 255 - 1))  # ITU-R 601-2 luma of blue: 29


def test_image_folder_without_class_folders_explains_the_layout(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "0.png")
    with pytest.raises(DatasetNotFoundError, match=r"root/<class>/<image>"):
        ImageFolder(str(tmp_path)).setup()


@pytest.mark.parametrize("make, location", [
    (lambda d: MNIST(str(d)), "MNIST/raw"), (lambda d: CIFAR10(str(d)), "cifar-10-batches-py"),
    (lambda d: ImageFolder(str(d)), ""),
])
def test_missing_data_names_the_directory(tmp_path, make, location):
    missing = tmp_path / "absent"
    with pytest.raises(DatasetNotFoundError, match=re.escape(str(missing / location))):
        make(missing).setup()


@pytest.mark.parametrize("make, module, location", [
    (lambda d: MNIST(str(d), download=True), torchvision.datasets.mnist, "MNIST/raw"),
    (lambda d: CIFAR10(str(d), download=True), torchvision.datasets.cifar, "cifar-10-batches-py"),
])
def test_failed_download_is_explained(tmp_path, monkeypatch, make, module, location):
    def offline(*args, **kwargs):
        raise URLError("no network")

    monkeypatch.setattr(module, "download_and_extract_archive", offline)
    data = make(tmp_path)
    with pytest.raises(DatasetNotFoundError, match=r"download failed") as error:
        data.prepare_data()
    assert str(tmp_path / location) in str(error.value) and "no network" in str(error.value)
    with pytest.raises(DatasetNotFoundError, match=r"prepare_data\(\) has not downloaded it"):
        data.setup()
