"""Noise on targets and GAN inputs: label smoothing and flips, instance noise. (Weight and
hidden-unit noise: tests/torch/test_regularizers.py.)"""
import numpy as np
import pytest
import torch

import augnoise
from augnoise.recipes.regularizers import GaussianNoise, WeightNoise, seed_noise

Z = 5.0


def test_the_recipes_module_re_exports_the_torch_regularizers():
    from augnoise.torch import regularizers

    assert (GaussianNoise, WeightNoise, seed_noise) == (regularizers.GaussianNoise, regularizers.WeightNoise,
                                                        regularizers.seed_noise)


def test_label_smoothing_and_flip_in_both_stages():
    smooth = augnoise.get_transform("labels.LabelSmoothing")(classes=5, eps=0.2)
    out = augnoise.Pipeline(sample=[smooth], seed=0)({"label": 3}, index=0)["label"]
    assert np.allclose(out, [0.05, 0.05, 0.05, 0.8, 0.05]) and abs(out.sum() - 1) < 1e-6
    p = augnoise.loads("seed: 2\nsample: []\nbatch:\n  - labels.LabelFlip: {classes: 4, rate: 0.25}\n")
    y = torch.arange(40000) % 4
    z = p.apply_batch({"label": y}, range(len(y)))["label"]
    flipped = z != y
    assert abs(flipped.float().mean().item() - 0.25) < Z * np.sqrt(0.25 * 0.75 / len(y))
    moved = (z[flipped] - y[flipped]) % 4
    counts = torch.bincount(moved, minlength=4)[1:].numpy()  # uniform over the other 3 classes
    assert all(abs(c - flipped.sum().item() / 3) < Z * np.sqrt(flipped.sum().item() / 3) for c in counts)
    sample_flip = augnoise.Pipeline(sample=[augnoise.get_transform("labels.LabelFlip")(classes=4, rate=0.25)], seed=3)
    rate = np.mean([sample_flip({"label": 1}, index=i)["label"] != 1 for i in range(4000)])
    assert abs(rate - 0.25) < Z * np.sqrt(0.25 * 0.75 / 4000)
    with pytest.raises(augnoise.InputError, match=r"label 7 is outside \[0, 5\)"):
        augnoise.Pipeline(sample=[smooth], seed=0)({"label": 7}, index=0)


def test_instance_noise_schedule():
    p = augnoise.loads("seed: 1\nsample: []\nbatch:\n  - gan.InstanceNoise: {std: [0.2, 0.05], epochs: 10, schedule: cosine}\n")
    step = p.batch[0]
    assert step.std_at(0) == 0.2 and abs(step.std_at(5) - 0.125) < 1e-12 and step.std_at(10) == step.std_at(50) == 0.05
    assert step.std_at(2) > step.std_at(3) > step.std_at(4)
    x = torch.zeros(64, 3, 16, 16)
    for epoch in (0, 5, 10):
        y = p.apply_batch(x, range(64), epoch=epoch)
        want = step.std_at(epoch)
        assert abs(y.std().item() - want) < Z * want / np.sqrt(2 * y.numel())
    with pytest.raises(augnoise.ConfigError, match=r"needs the epoch: it runs in the batch stage only"):
        augnoise.loads("seed: 1\nsample:\n  - gan.InstanceNoise: {}\n")
