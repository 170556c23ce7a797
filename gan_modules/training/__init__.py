"""The machinery every method is built on: :class:`~lightning_gans.gan_modules.training.base.AdversarialModule`
and its parts (resume state, re-initialisation, sampling, validation scores, the data's shape, the network
contract, stabilisers, the NaN/inf loss check, the RNG restore, the per-step logging), the players'
optimizer settings and learning-rate decay, parameter averages, PacGAN packing, DDP gradient sync, and what turns checkpoints back
into modules.  The methods themselves are the files one folder up (``gan.py``, ``wgan.py``, ...)."""
