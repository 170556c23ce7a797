"""AdaGAN's boosting (Tolstikhin et al. 2017, arXiv:1701.02386, Algorithm 1), apart from the training run.

* :mod:`.mixture`: :class:`GeneratorMixture`, the weighted mixture of frozen generators, and its
  checkpoint form;
* :mod:`.classifier`: :class:`MixtureClassifier`, data against samples of the mixture;
* :mod:`.weights`: the data weights of the next component from the classifier's outputs.

:class:`lightning_gans.callbacks.AdaGAN` runs the stages inside a ``trainer.fit``;
:func:`lightning_gans.gan_modules.load_generator` on one of its checkpoints returns the mixture.
"""

from lightning_gans.gan_modules.adagan.classifier import MixtureClassifier
from lightning_gans.gan_modules.adagan.mixture import GeneratorMixture

__all__ = ["GeneratorMixture", "MixtureClassifier"]
