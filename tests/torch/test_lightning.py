"""Under PyTorch Lightning: the Trainer's own sampler.set_epoch moves both stages, every epoch and
every sample gets its own noise, and a second run reproduces the first."""
import numpy as np
import pytest
import torch

import augnoise
from augnoise.torch import make_loader

L = pytest.importorskip("lightning")

Z = 6.0
PIPE = augnoise.loads("""
seed: 9
sample:
  - image.GaussianNoise: {std: 0.05}
batch:
  - gan.InstanceNoise: {std: [0.3, 0.1], epochs: 2, schedule: linear}
""")
CLEAN = 0.5


class Grey(torch.utils.data.Dataset):
    def __len__(self):
        return 32

    def __getitem__(self, i):
        return torch.full((1, 8, 8), CLEAN), i


class Data(L.LightningDataModule):
    def train_dataloader(self):
        return make_loader(Grey(), PIPE, batch_size=16, shuffle=True)


class Net(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(64, 1)
        self.seen = []  # (epoch, labels, noise)

    def training_step(self, batch, _):
        x, y = batch
        self.seen.append((self.current_epoch, y.clone(), (x - CLEAN).clone()))
        return self.fc(x.flatten(1)).pow(2).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def fit():
    net = Net()
    trainer = L.Trainer(max_epochs=3, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(net, datamodule=Data())
    return net.seen


def test_lightning_epochs_move_both_stages_and_runs_reproduce():
    seen = fit()
    by_epoch = {e: torch.cat([n for ep, _, n in seen if ep == e]) for e in range(3)}
    for e, want in zip(range(3), (0.3, 0.2, 0.1)):  # the annealed batch-stage std, with the sample stage's 0.05
        total = (want**2 + 0.05**2) ** 0.5
        got = float(by_epoch[e].std())
        assert abs(got - total) < Z * total / np.sqrt(2 * by_epoch[e].numel()), (e, got, total)
    per_sample = {(e, int(i)): n for e, y, ns in seen for i, n in zip(y, ns)}
    assert len(per_sample) == 96 and len({n.numpy().tobytes() for n in per_sample.values()}) == 96
    again = {(e, int(i)): n for e, y, ns in fit() for i, n in zip(y, ns)}
    assert all(torch.equal(per_sample[k], again[k]) for k in per_sample)
