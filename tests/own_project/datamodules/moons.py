"""Two interleaved half-circles (scikit-learn's moons): 2-D data with no modes to count, in dict batches."""

import lightning.pytorch as pl
import torch
from sklearn.datasets import make_moons
from torch.utils.data import DataLoader, Dataset


class PointDicts(Dataset):
    def __init__(self, points: torch.Tensor) -> None:
        self.points = points

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, index: int) -> dict:
        return {"x": self.points[index], "label": torch.tensor(0)}


class Moons(pl.LightningDataModule):
    def __init__(self, n_train: int = 2048, n_val: int = 512, batch_size: int = 128, noise: float = 0.05) -> None:
        super().__init__()
        self.n_train, self.n_val, self.batch_size, self.noise = n_train, n_val, batch_size, noise

    def setup(self, stage: str) -> None:
        points, _ = make_moons(self.n_train + self.n_val, noise=self.noise, random_state=0)
        points = torch.as_tensor(points, dtype=torch.float32)
        self.train_dataset = PointDicts(points[: self.n_train])
        self.val_dataset = PointDicts(points[self.n_train:])

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_dataset, batch_size=self.batch_size, shuffle=True, drop_last=True)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_dataset, batch_size=self.batch_size)

    def test_dataloader(self) -> DataLoader:
        return self.val_dataloader()
