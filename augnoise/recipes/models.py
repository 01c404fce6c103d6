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
    """Build a model and initialise its linear layers (PyTorch's default scheme) from a private
    generator seeded with ``seed``; construction runs inside a forked RNG, so the global torch
    RNG is left exactly as it was."""
    import math

    with torch.random.fork_rng(devices=[]):
        model = model_fn()
    g = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=g)
                bound = 1 / math.sqrt(m.in_features)
                torch.nn.init.uniform_(m.bias, -bound, bound, generator=g)
    return model
