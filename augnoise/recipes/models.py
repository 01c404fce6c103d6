"""Small torch models for the recipes (fully connected, so any input shape works)."""
from __future__ import annotations

import torch


class AutoEncoder(torch.nn.Module):
    """``in -> hidden -> hidden/4 -> hidden -> in``; sigmoid output for data in [0, 1]."""

    def __init__(self, dim: int, hidden: int = 128, bounded: bool = True) -> None:
        super().__init__()
        self.bounded = bounded
        self.net = torch.nn.Sequential(
            torch.nn.Linear(dim, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden // 4), torch.nn.ReLU(),
            torch.nn.Linear(hidden // 4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.net(x.flatten(1)).reshape(x.shape)
        return torch.sigmoid(y) if self.bounded else y


class Classifier(torch.nn.Module):
    def __init__(self, dim: int, classes: int = 2, hidden: int = 64) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(dim, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden),
                                       torch.nn.ReLU(), torch.nn.Linear(hidden, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))


def seeded(model_fn, seed: int):
    """Build a model with its initialisation drawn inside a forked RNG (global state untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return model_fn()
