"""The batch stage on torch tensors: statistics, per-sample keys, loader integration."""
import numpy as np
import pytest
import torch

import augnoise
from augnoise.torch import make_loader

Z = 5.0


def pipe(batch_yaml, sample_yaml="[]", fields=""):
    return augnoise.loads(f"seed: 9\n{fields}sample: {sample_yaml}\nbatch:\n{batch_yaml}")


NHWC = "fields:\n  image: {layout: NHWC}\n"  # channels-last tensors must be declared (tensors default to NCHW)


def test_image_gaussian_std_unbiased_and_same_as_sample_stage():
    p = pipe("  - image.GaussianNoise: {std: 0.02}\n", "[{image.GaussianNoise: {std: 0.02}}]", NHWC)
    grey = np.full((8, 64, 64, 3), 128, np.uint8)
    y = p.apply_batch(torch.from_numpy(grey), torch.arange(8))
    assert y.dtype == torch.uint8 and y.shape == grey.shape
    n = y.numpy().astype(float) - 128
    expected = np.sqrt((0.02 * 255) ** 2 + 1 / 12)
    assert abs(n.std() - expected) < Z * expected / np.sqrt(2 * n.size)
    sample_stage = np.stack([p(grey[i], index=i) for i in range(8)]).astype(float) - 128
    # same step, either stage: same distribution (std within the two estimates' errors)
    assert abs(n.std() - sample_stage.std()) < Z * expected * np.sqrt(2 / (2 * n.size))
    assert not np.array_equal(n, sample_stage)  # different stage, different keys


def test_float_images_clip_and_salt_pepper_rates():
    p = pipe("  - image.GaussianNoise: {std: 0.3}\n  - image.SaltAndPepper: {amount: 0.1, salt_ratio: 0.25}\n")
    x = torch.full((4, 3, 32, 32), 0.5)  # NCHW, the tensors' default
    y = p.apply_batch({"image": x}, [0, 1, 2, 3])["image"]
    assert y.min() >= 0 and y.max() <= 1
    pixels = 4 * 32 * 32
    salt = (y == 1.0).all(1).sum().item()  # whole pixels: all channels on axis 1
    pepper = (y == 0.0).all(1).sum().item()
    assert abs(salt - pixels * 0.025) < Z * np.sqrt(pixels * 0.025)
    # pepper also counts pixels whose three channels the Gaussian step clipped to 0: P ~ 1e-4
    assert abs(pepper - pixels * 0.075) < Z * np.sqrt(pixels * 0.075)
    assert torch.equal(x, torch.full((4, 3, 32, 32), 0.5))  # input untouched


def test_audio_snr_exact_per_channel_and_int16():
    p = pipe("  - audio.GaussianSNR: {snr_db: [5, 25], clip: false}\n")  # clipping would lower the SNR
    t = torch.arange(4000) / 16000
    stereo = torch.stack([0.5 * torch.sin(2 * np.pi * 440 * t), 0.005 * torch.sin(2 * np.pi * 300 * t)])
    x = stereo[None].repeat(6, 1, 1)
    y = p.apply_batch({"audio": x}, range(6))["audio"]
    snr = 10 * torch.log10((x.double() ** 2).sum(-1) / ((y - x).double() ** 2).sum(-1))
    assert torch.allclose(snr[:, 0], snr[:, 1], atol=1e-3)  # the quiet channel gets the same SNR
    assert snr.min() >= 5 - 1e-3 and snr.max() <= 25 + 1e-3 and snr[:, 0].unique().numel() == 6
    pcm = (x * 32767).round().to(torch.int16)
    assert p.apply_batch({"audio": pcm}, range(6))["audio"].dtype == torch.int16
    g = pipe("  - audio.GaussianNoise: {std: 0.01, clip: false}\n").apply_batch({"audio": torch.zeros(3, 2, 20000)}, [0, 1, 2])["audio"]
    assert abs(g.std().item() - 0.01) < Z * 0.01 / np.sqrt(2 * g.numel())


def test_keys_are_per_sample_not_per_batch():
    p = pipe("  - image.GaussianNoise: {std: [0.05, 0.2], p: 0.7}\n  - image.SaltAndPepper: {amount: 0.02}\n")
    x = torch.full((10, 16, 16), 100, dtype=torch.uint8)
    whole = p.apply_batch(x, list(range(10)), epoch=4)
    parts = torch.cat([p.apply_batch(x[:3], [0, 1, 2], epoch=4), p.apply_batch(x[3:], list(range(3, 10)), epoch=4)])
    reordered = p.apply_batch(x, list(range(9, -1, -1)), epoch=4).flip(0)
    assert torch.equal(whole, parts) and torch.equal(whole, reordered)
    assert not torch.equal(whole, p.apply_batch(x, list(range(10)), epoch=5))


def test_loader_runs_the_batch_stage_on_the_device():
    class Ds:
        def __len__(self):
            return 8

        def __getitem__(self, i):
            return np.full((8, 8, 3), 128, np.uint8), i

    p = pipe("  - image.GaussianNoise: {std: 0.1}\n", "[{image.SaltAndPepper: {amount: 0.1}}]")
    loader = make_loader(Ds(), p, batch_size=4, num_workers=1, device="cpu")
    batches = list(loader)
    assert len(batches) == 2 and batches[0][0].device.type == "cpu"
    x = torch.from_numpy(np.stack([p(np.full((8, 8, 3), 128, np.uint8), index=i) for i in range(8)]))
    # the loader tells the batch stage its images were numpy (channels-last); by hand, say so too
    assert torch.equal(torch.cat([b[0] for b in batches]), p.apply_batch(x, torch.arange(8), item_types={"image": "numpy"}))


def test_batch_stage_errors():
    with pytest.raises(augnoise.InputError, match=r"batch step 1 \(image.GaussianNoise\): batch has no field 'image'"):
        pipe("  - image.GaussianNoise: {}\n").apply_batch({"audio": torch.zeros(2, 10)}, [0, 1])
    with pytest.raises(augnoise.InputError, match=r"must be an array with one row per sample \(3\)"):
        pipe("  - image.GaussianNoise: {}\n").apply_batch(torch.zeros(2, 4, 4), [0, 1, 2])
    with pytest.raises(augnoise.InputError, match=r"batch step 1 \(image.GaussianNoise\): image dtype must be uint8, "
                                                  r"uint16, float16, bfloat16, float32 or float64, got int32"):
        pipe("  - image.GaussianNoise: {}\n").apply_batch(torch.zeros(2, 4, 4, dtype=torch.int32), [0, 1])
    from augnoise.image.albu import AlbumentationsStep

    with pytest.raises(augnoise.ParamError, match=r"Pipeline: batch: step 1 \(albumentations.HorizontalFlip\): "
                                                  r"albumentations steps run in the sample stage only"):
        augnoise.Pipeline(batch=[AlbumentationsStep("HorizontalFlip")])
