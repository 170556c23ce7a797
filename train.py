"""Train any method on any data set with the Lightning CLI, from a clone of the repository.

    python train.py fit --config configs/ring8_gan.yaml

The same command line is installed as ``lightning-gans`` (:mod:`lightning_gans.cli`).
"""

from lightning_gans.cli import main

if __name__ == "__main__":
    main()
