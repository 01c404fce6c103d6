"""OverfitCallback in a real Lightning fit on CPU: the four metrics reach the logger at the
monitor's cadence, with the monitor's values, and the model is trained undisturbed."""
import csv
import warnings

import pytest
import torch

pytest.importorskip("lightning")

import lightning  # noqa: E402

from augnoise.adversarial.lightning import METRICS, OverfitCallback  # noqa: E402
from augnoise.adversarial.monitor import CatastrophicOverfittingWarning  # noqa: E402

torch.use_deterministic_algorithms(False)


class Tiny(lightning.LightningModule):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(8, 2)
        with torch.no_grad():  # fixed init, no global RNG
            self.fc.weight.copy_(torch.linspace(-0.1, 0.1, 16).reshape(2, 8))
            self.fc.bias.zero_()

    def forward(self, x):
        return self.fc(x - 0.5)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.cross_entropy(self(x), y)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=1.0)


def blobs(n, seed):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = (0.5 + (2 * y[:, None] - 1) * 0.1 + 0.05 * torch.randn(n, 8, generator=g)).clamp(0, 1)
    return x, y


@pytest.mark.filterwarnings(r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated")  # Lightning 2.6 on torch 2.13
def test_callback_logs_the_metrics_at_its_cadence(tmp_path):
    x, y = blobs(64, 0)
    xv, yv = blobs(32, 1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)  # 4 batches an epoch
    cb = OverfitCallback(xv, yv, 0.1, every=2, pgd_steps=5, figure=tmp_path / "co.png")
    logger = lightning.pytorch.loggers.CSVLogger(tmp_path, name="run", version=0)
    trainer = lightning.Trainer(max_steps=6, logger=logger, log_every_n_steps=1, callbacks=[cb], accelerator="cpu",
                                enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    module = Tiny()
    with warnings.catch_warnings():
        warnings.simplefilter("error", CatastrophicOverfittingWarning)  # a linear model: FGSM is PGD
        trainer.fit(module, loader)
    assert trainer.global_step == 6
    h = cb.monitor.history
    assert [r["step"] for r in h] == [2, 4, 6] and cb.monitor.model is module
    assert h[-1]["clean"] == 1.0 and h[-1]["fgsm"] < 1 and all(r["gap"] == 0.0 for r in h)  # trained; FGSM bites
    with open(tmp_path / "run" / "version_0" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6 and [int(r["step"]) for r in rows] == list(range(6))  # one row per step (train_loss)
    # Lightning writes a batch's metrics at step global_step - 1 (the batch's own index), and
    # re-writes an on_step value logged earlier in the epoch until the epoch ends: every row
    # with the metrics holds the latest evaluation, and the evaluated steps hold their own.
    logged = {int(r["step"]): r for r in rows if r["adv/clean_acc"]}
    assert {r["step"] - 1 for r in h} <= set(logged) and 0 not in logged
    for step, row in logged.items():
        rec = [r for r in h if r["step"] <= step + 1][-1]
        for key, name in METRICS.items():
            assert float(row[name]) == pytest.approx(rec[key], abs=1e-7), (step, name)
    assert (tmp_path / "co.png").read_bytes()[:4] == b"\x89PNG"


def test_callback_validates_its_arguments_when_made():
    import augnoise

    x, y = blobs(8, 0)
    with pytest.raises(augnoise.ParamError, match=r"^OverfitMonitor: every: must be an integer >= 1, got 0$"):
        OverfitCallback(x, y, 0.05, every=0)
    with pytest.raises(augnoise.InputError, match=r"^OverfitMonitor: the held-out batch: the batch lies outside its domain"):
        OverfitCallback(x * 4 - 2, y, 0.05)
