"""Datamodules: exact mixtures, digits scaling, reweightable sampling, torchvision sets from files the test writes."""

import math
import pickle
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from datamodules import (CIFAR10, MNIST, DatasetNotFoundError, Digits, GridOfGaussians, ImageFolder,
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


@pytest.mark.parametrize("weights, message", [
    (torch.ones(3), "expected 10 weights"), (-torch.ones(10), "non-negative"),
    (torch.zeros(10), "positive sum"), (torch.full((10,), float("nan")), "finite"),
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
    restored.load_state_dict(ring.state_dict())
    torch.testing.assert_close(restored.sample_weights, ring.sample_weights)


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
    mnist = MNIST(str(tmp_path))
    mnist.setup()
    x, y = mnist.train_dataset[0]
    assert mnist.data_shape == (1, 28, 28) and x.shape == (1, 28, 28)
    assert x[0, 0, 0] == -1 and x[0, 0, 1] == 1 and y == 0
    assert len(mnist.train_dataset) == 6 and len(mnist.val_dataset) == 4


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
    assert x.shape == (3, 32, 32) and (x[0] == 1).all() and y == 3
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
    assert folder.train_dataset[3][1] == 1


@pytest.mark.parametrize("make, location", [
    (lambda d: MNIST(str(d)), "MNIST/raw"), (lambda d: CIFAR10(str(d)), "cifar-10-batches-py"),
    (lambda d: ImageFolder(str(d)), ""),
])
def test_missing_data_names_the_directory(tmp_path, make, location):
    missing = tmp_path / "absent"
    with pytest.raises(DatasetNotFoundError, match=str(missing / location).rstrip("/")):
        make(missing).setup()
