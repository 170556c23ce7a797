"""Downloadable image data sets through torchvision: MNIST, CIFAR-10 and any folder of images.

Images are mapped to ``[-1, 1]`` (the generators' tanh range).  ``download=True`` fetches MNIST and
CIFAR-10 where the network allows (``prepare_data``, rank 0 only); offline, a missing data set is a
:class:`DatasetNotFoundError` that names the directory looked in and the files expected there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torchvision
from torchvision import transforms

from lightning_gans.datamodules.base import WeightedDataModule


class DatasetNotFoundError(FileNotFoundError):
    """A data set is not where it was looked for (and could not be downloaded)."""


def to_unit_range(channels: int) -> transforms.Normalize:
    """``[0, 1]`` tensors (``ToTensor``) to ``[-1, 1]``."""
    return transforms.Normalize([0.5] * channels, [0.5] * channels)


class _PresenceCheckedCIFAR10(torchvision.datasets.CIFAR10):
    """torchvision's CIFAR10 with file-presence checks instead of per-file md5 sums.

    The downloaded archive is still verified by its md5 (``tgz_md5``); dropping the per-batch sums
    lets a user (and our tests) supply the pickled batches by other means.
    """

    train_list = [[name, None] for name, _ in torchvision.datasets.CIFAR10.train_list]
    test_list = [[name, None] for name, _ in torchvision.datasets.CIFAR10.test_list]
    meta = {**torchvision.datasets.CIFAR10.meta, "md5": None}


class _TorchvisionDataModule(WeightedDataModule):
    """Shared download/missing-data handling; subclasses say where files live and how to build a split.

    The data set's test split is ``val_dataset``.  ``batch_size`` 64 as PyTorch's DCGAN example
    [code: ``examples/dcgan/main.py``, ``--batchSize``].
    """

    expected_location: str = ""  # the folder under data_dir that torchvision reads
    how_to_provide: str = ""

    def __init__(self, data_dir: str = "data", download: bool = False, batch_size: int = 64, num_workers: int = 0,
                 n_predict: int = 1000):
        super().__init__(batch_size=batch_size, num_workers=num_workers, n_predict=n_predict)
        self.data_dir = Path(data_dir)
        self.download = download

    def _build(self, train: bool, download: bool):
        raise NotImplementedError

    def _missing(self, reason: str) -> DatasetNotFoundError:
        return DatasetNotFoundError(
            f"{type(self).__name__} data not found in {(self.data_dir / self.expected_location).absolute()} "
            f"({reason}). {self.how_to_provide}"
        )

    def prepare_data(self) -> None:
        if not self.download:
            return
        try:
            self._build(train=True, download=True)
            self._build(train=False, download=True)
        # URLError and socket errors are OSErrors; MNIST raises RuntimeError once every mirror failed
        except (OSError, RuntimeError) as error:
            raise self._missing(f"download failed: {error}") from error

    def setup(self, stage: Optional[str] = None) -> None:
        if self.train_dataset is not None:
            return
        try:
            self.train_dataset = self._build(train=True, download=False)
            self.val_dataset = self._build(train=False, download=False)
        except RuntimeError as error:  # torchvision's "Dataset not found" (MNIST) / "... or corrupted" (CIFAR10)
            reason = "download=True, but prepare_data() has not downloaded it" if self.download else "download=False"
            raise self._missing(reason) from error


class MNIST(_TorchvisionDataModule):
    """MNIST (LeCun et al. 1998), 60,000 training and 10,000 test 28x28 grey digits, shape ``(1, 28, 28)``."""

    expected_location = "MNIST/raw"
    how_to_provide = (
        "Pass --data.download=true where the network allows, or put the four uncompressed IDX files "
        "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte there "
        "(data_dir is the folder that contains MNIST/)."
    )

    @property
    def data_shape(self) -> tuple[int, ...]:
        return (1, 28, 28)

    def _build(self, train: bool, download: bool):
        transform = transforms.Compose([transforms.ToTensor(), to_unit_range(1)])
        return torchvision.datasets.MNIST(str(self.data_dir), train=train, download=download, transform=transform)


class CIFAR10(_TorchvisionDataModule):
    """CIFAR-10 (Krizhevsky 2009), 50,000 training and 10,000 test 32x32 colour images, shape ``(3, 32, 32)``."""

    expected_location = "cifar-10-batches-py"
    how_to_provide = (
        "Pass --data.download=true where the network allows, or unpack cifar-10-python.tar.gz there so that it holds "
        "data_batch_1 ... data_batch_5, test_batch and batches.meta (data_dir is the folder that contains "
        "cifar-10-batches-py/)."
    )

    @property
    def data_shape(self) -> tuple[int, ...]:
        return (3, 32, 32)

    def _build(self, train: bool, download: bool):
        transform = transforms.Compose([transforms.ToTensor(), to_unit_range(3)])
        return _PresenceCheckedCIFAR10(str(self.data_dir), train=train, download=download, transform=transform)


class ImageFolder(WeightedDataModule):
    """Any folder of images laid out as ``root/<class>/<image>``, resized and centre-cropped to
    ``image_size`` (one of the DCGAN sizes 8, 28, 32, 64), ``channels`` 1 (grey) or 3 (RGB).

    There is no held-out split (``val_dataset`` stays ``None``).  ``image_size`` 64 and
    ``batch_size`` 64 are the defaults of PyTorch's DCGAN example [code: ``examples/dcgan/main.py``,
    ``--imageSize``, ``--batchSize``].
    """

    layout = ("Put the images in sub-folders of root, one a class (root/<class>/<image>.png or .jpg); "
              "a single sub-folder is fine for unlabelled data.")

    def __init__(self, root: str, image_size: int = 64, channels: int = 3, batch_size: int = 64,
                 num_workers: int = 0, n_predict: int = 1000) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers, n_predict=n_predict)
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        if image_size < 1:
            raise ValueError(f"image_size must be positive, got {image_size}")
        self.root, self.image_size, self.channels = Path(root), image_size, channels

    @property
    def data_shape(self) -> tuple[int, ...]:
        return (self.channels, self.image_size, self.image_size)

    def setup(self, stage: Optional[str] = None) -> None:
        if self.train_dataset is not None:
            return
        if not self.root.is_dir():
            raise DatasetNotFoundError(
                f"ImageFolder data not found: {self.root.absolute()} is not a directory. {self.layout}"
            )
        steps = [transforms.Resize(self.image_size), transforms.CenterCrop(self.image_size)]
        if self.channels == 1:
            steps.append(transforms.Grayscale(1))
        transform = transforms.Compose([*steps, transforms.ToTensor(), to_unit_range(self.channels)])
        try:  # torchvision's default (PIL) loader gives RGB images
            self.train_dataset = torchvision.datasets.ImageFolder(str(self.root), transform=transform)
        except FileNotFoundError as error:  # no class folder, or no image files in them
            raise DatasetNotFoundError(
                f"ImageFolder data not found in {self.root.absolute()}: {error}. {self.layout}"
            ) from error
