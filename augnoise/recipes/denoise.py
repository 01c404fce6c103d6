"""Denoising autoencoder recipe: the pipeline's sample stage is the corruption, applied through
the same DataLoader integration as training; the network learns to give back the clean input."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from ..core.files import atomic_write
from ..core.pipeline import Pipeline
from .data import Data, Standardizer, load_data, split


class _Pairs:
    """Items ``{field: clean, "clean": clean}``: the pipeline corrupts ``field`` only."""

    def __init__(self, x: np.ndarray, field: str):
        self.x, self.field = x, field

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {self.field: self.x[i], "clean": self.x[i]}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB for data in [0, 1]."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def train_denoiser(pipeline: Pipeline, data: str | Data = "digits", *, epochs: int = 30, out_dir: str | None = None,
                   seed: int = 0, batch_size: int = 64, hidden: int = 256, lr: float = 2e-3, progress: bool = True,
                   label_column: str | None = None) -> dict[str, Any]:
    """Train a denoising autoencoder whose corruption is ``pipeline``'s sample stage.

    Images: PSNR of noisy vs denoised held-out inputs; tables (the Porto Seguro DAE with swap
    noise): MSE on standardised features. Writes ``denoise_grid.png`` (clean / noisy /
    denoised rows) and ``denoiser.pt`` (state dict) into ``out_dir`` when given.
    """
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    from ..torch import make_loader
    from .models import AutoEncoder, seeded

    d = data if isinstance(data, Data) else load_data(data, label_column)
    train, test = split(len(d.x), 0.2, seed)
    field = d.field
    if d.kind == "tabular":
        pipeline.fit(features=d.x[train], names=d.names)
        scale = Standardizer(d.x[train])
    x_train = d.x[train].astype(np.float32) if d.kind == "image" else d.x[train]
    loader = make_loader(_Pairs(x_train, field), pipeline, batch_size=batch_size, shuffle=True, seed=seed)
    dim = int(np.prod(d.x.shape[1:]))
    model = seeded(lambda: AutoEncoder(dim, hidden, bounded=d.kind == "image"), seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)

    def prep(a: Any) -> torch.Tensor:
        a = a.numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
        return torch.from_numpy(scale(a) if d.kind == "tabular" else a.astype(np.float32))

    model.train()
    for epoch in tqdm(range(epochs), desc="denoising AE", unit="epoch", disable=not progress):
        loader.set_epoch(epoch)
        for batch in loader:
            opt.zero_grad()
            loss = F.mse_loss(model(prep(batch[field])), prep(batch["clean"]))
            loss.backward()
            opt.step()
    model.eval()
    clean = d.x[test]
    noisy = np.stack([pipeline({field: clean[i]}, index=int(test[i]), epoch=0)[field] for i in range(len(test))])
    with torch.no_grad():
        den = model(prep(noisy)).numpy()
    out: dict[str, Any] = {"data": d.name, "kind": d.kind, "train": len(train), "test": len(test), "epochs": epochs}
    if d.kind == "image":
        out["psnr_noisy"], out["psnr_denoised"] = float(psnr(noisy, clean)), float(psnr(den, clean))
    else:
        c = scale(clean)
        out["mse_noisy"] = float(np.mean((scale(noisy) - c) ** 2))
        out["mse_denoised"] = float(np.mean((den - c) ** 2))
    if out_dir is not None:
        folder = Path(out_dir)
        buf = io.BytesIO()
        torch.save(model.state_dict(), buf)
        out["weights"] = str(atomic_write(folder / "denoiser.pt", buf.getvalue()))
        if d.kind == "image":
            from ..image.io import make_grid, write_image

            k = min(8, len(test))
            tiles = [*clean[:k], *noisy[:k], *np.clip(den[:k], 0, 1)]
            labels = [f"clean {i}" for i in range(k)] + [f"noisy {i}" for i in range(k)] + [f"denoised {i}" for i in range(k)]
            out["grid"] = str(write_image(folder / "denoise_grid.png", make_grid(tiles, labels, columns=k)))
    return out
