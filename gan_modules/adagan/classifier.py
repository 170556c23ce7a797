"""AdaGAN's mixture classifier: real data against samples of the whole current mixture.

Tolstikhin et al. 2017 (arXiv:1701.02386), Sec. 3.1: the data weights of the next component need
``dP_model/dP_data`` at the training points, estimated by a classifier ``C`` of data against the
mixture, ``(1 - D)/D`` with ``D = sigmoid(C)`` [code: tolstikhin/adagan ``adagan.py``,
``_train_mixture_discriminator_internal``].  :class:`MixtureClassifier` trains a freshly initialised
network (the caller gives it: in AdaGAN one of the discriminator's architecture) and scores the data.

Deviations from the reference code: the classifier sees fresh mixture samples every step instead of
stored ones, and its default optimizer is Adam instead of the run's generic optimizer.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Iterator, Optional

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from lightning_gans.gan_modules.adagan.mixture import GeneratorMixture
from lightning_gans.datamodules.contract import real_from_batch
from lightning_gans.gan_modules.losses import non_saturating_loss
from lightning_gans.gan_modules.training.optimizer import OptimizerSpec

#: Adam's default settings (Kingma & Ba 2015, Algorithm 1) for the mixture classifier.
CLASSIFIER_OPTIMIZER = OptimizerSpec(name="adam", lr=1e-3, betas=(0.9, 0.999))
#: Classifier batch size of the reference code (64 reals and 64 fakes a step) [code: ``gan.py``].
CLASSIFIER_BATCH_SIZE = 64
#: Classifier epochs of the reference code [code: ``mixture_c_epoch_num = 5``].
CLASSIFIER_EPOCHS = 5.0
#: Batch size when the trained classifier scores the data (speed only).
PREDICTION_BATCH_SIZE = 1024


def real_batches(dataset: Dataset, batch_size: int, shuffle: bool) -> Iterator[Tensor]:
    """Batches of the examples of ``dataset`` (labels dropped); one pass, the last partial batch
    dropped when shuffling.

    A ``TensorDataset`` (the toy sets, digits) is sliced directly, which is much faster than a
    ``DataLoader`` collating single examples; any other dataset goes through a ``DataLoader``.
    """
    if isinstance(dataset, TensorDataset):
        examples = dataset.tensors[0]
        order = torch.randperm(len(examples)) if shuffle else torch.arange(len(examples))
        stop = len(examples) - len(examples) % batch_size if shuffle and len(examples) >= batch_size else len(examples)
        return (examples[order[i:i + batch_size]] for i in range(0, stop, batch_size))
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=shuffle,
                        drop_last=shuffle and len(dataset) >= batch_size)
    return (real_from_batch(batch) for batch in loader)


@dataclass(frozen=True)
class MixtureClassifier:
    """How the data-vs-mixture classifier is trained; :meth:`probability_real` trains one and scores the data.

    Args:
        steps: optimizer steps; default ``epochs * N / batch_size`` for ``N`` training points.
        epochs: passes over the data when ``steps`` is not given (5 [code: ``mixture_c_epoch_num``]).
        batch_size: reals and fakes per step (64 [code]).
        optimizer: the classifier's optimizer (Adam 1e-3, betas (0.9, 0.999)).
        prediction_batch_size: batch size when scoring the data (speed only; 1024).
    """

    steps: Optional[int] = None
    epochs: float = CLASSIFIER_EPOCHS
    batch_size: int = CLASSIFIER_BATCH_SIZE
    optimizer: OptimizerSpec = CLASSIFIER_OPTIMIZER
    prediction_batch_size: int = PREDICTION_BATCH_SIZE

    def __post_init__(self) -> None:
        if self.steps is not None and self.steps < 1:
            raise ValueError(f"classifier_steps must be at least 1, got {self.steps}")
        if self.epochs <= 0:
            raise ValueError(f"classifier_epochs must be positive, got {self.epochs}")
        if self.batch_size < 1 or self.prediction_batch_size < 1:
            raise ValueError("classifier_batch_size and prediction_batch_size must be at least 1, got "
                             f"{self.batch_size} and {self.prediction_batch_size}")

    def steps_for(self, n_examples: int) -> int:
        """The optimizer steps of one training on ``n_examples`` points."""
        return self.steps or max(1, math.ceil(self.epochs * n_examples / self.batch_size))

    def probability_real(self, network: nn.Module, mixture: GeneratorMixture, dataset: Dataset) -> Tensor:
        """Train ``network`` (freshly initialised, on the mixture's device) and return its ``p`` on ``dataset``."""
        self.fit(network, mixture, dataset)
        return self.probabilities(network, dataset)

    def fit(self, network: nn.Module, mixture: GeneratorMixture, dataset: Dataset) -> None:
        """Sigmoid cross-entropy, real examples (label 1) vs fresh samples of the whole mixture (label 0).

        As the reference code [``_train_mixture_discriminator_internal``]: real batches drawn uniformly
        (epochs of random permutations), not by the data weights.
        """
        network.train().requires_grad_(True)
        opt = self.optimizer.build(network.parameters())
        epochs = (real_batches(dataset, self.batch_size, shuffle=True) for _ in itertools.count())
        with torch.enable_grad():
            for batch in itertools.islice(itertools.chain.from_iterable(epochs), self.steps_for(len(dataset))):
                real = batch.to(mixture.device).float()
                fake = mixture.sample(real.shape[0])
                loss = non_saturating_loss(network(real), network(fake)).discriminator
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        network.eval()

    @torch.no_grad()
    def probabilities(self, network: nn.Module, dataset: Dataset) -> Tensor:
        """``sigmoid(C(x))`` for every example of ``dataset`` in order, float64 on the CPU."""
        device = next(network.parameters()).device
        network.eval()
        return torch.cat([torch.sigmoid(network(batch.to(device).float()).double()).cpu()
                          for batch in real_batches(dataset, self.prediction_batch_size, shuffle=False)])
