"""augnoise bench batch: every batch-stage kernel on CPU tensors, one thread, against a peer or
a plain torch reference on the same data in the same run.

Images: float32 NCHW 32 x 3 x 256 x 256 (the torchvision layout, read as such by default) and
the same values as uint8. kornia's ``RandomGaussianNoise`` is the peer for Gaussian noise; for
the rest the reference is the plain torch computation a user would write (unkeyed, one global
generator; salt and pepper per pixel, Poisson for shot noise, a multiplicative normal for
speckle). Audio: float32 32 x 2 x 441000 (ten seconds of 44.1 kHz stereo), against plain torch
Gaussian noise, noise scaled to an exact SNR, FFT-shaped pink noise, and a crop from a noise
bank on the device.

augnoise runs through ``Pipeline.apply_batch`` (keys, draws, checks and dispatch included): on
CPU tensors that is the numba kernel on the tensor's own memory. The row "torch kernels" runs
the kernels that serve GPU tensors, here on the CPU, for an idea of their cost (not a GPU
figure). Rounds are interleaved; medians reported.
"""
from __future__ import annotations

import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from ._common import machine, median, single_thread

STD = 0.1


def timed(fn: Callable[[], Any], sync: Callable[[], None]) -> float:
    sync()
    t0 = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - t0


@contextmanager
def torch_kernels() -> Iterator[None]:
    """Route CPU tensors to the torch kernels (those that serve GPU tensors)."""
    import numpy as np

    import augnoise.core.kernels as k
    import augnoise.core.pipeline as p

    saved = k.numpy_view, p.numpy_view
    k.numpy_view = p.numpy_view = lambda x: x if isinstance(x, np.ndarray) else None
    try:
        yield
    finally:
        k.numpy_view, p.numpy_view = saved


def via_torch(fn: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        with torch_kernels():
            return fn()

    return run


def ours(pipe: Any, data: Any, keys: list[int], device: str) -> dict[str, Callable[[], Any] | None]:
    """A case's augnoise rows: the batch stage as it runs, and (on CPU only) through the torch
    kernels that serve other devices."""
    run = lambda: pipe.apply_batch(data, keys)  # noqa: E731
    return {"augnoise": run, "augnoise, torch kernels": via_torch(run) if device == "cpu" else None}


def image_cases(b: int, device: str) -> dict[str, dict[str, Callable[[], Any] | None]]:
    import torch

    import augnoise

    try:
        import kornia.augmentation as K
    except ImportError:  # pragma: no cover - the bench extra installs it
        K = None
    gen = torch.Generator(device).manual_seed(0)
    x = torch.rand((b, 3, 256, 256), generator=gen, device=device)
    x8 = (x * 255).round().to(torch.uint8)
    idx = list(range(b))
    idx8 = list(range(b, 2 * b))  # the uint8 batch is other data: its own keys (no KeyReuseWarning)

    def pipe(step: str) -> Any:
        return augnoise.loads(f"seed: 0\nsample: []\nbatch:\n  - {step}\n")

    gauss = pipe(f"image.GaussianNoise: {{std: {STD}}}")
    gauss_last = augnoise.Pipeline(batch=gauss.batch, seed=0, fields={"image": {"layout": "NHWC"}})
    x_last = x.permute(0, 2, 3, 1).contiguous()
    sp = pipe("image.SaltAndPepper: {amount: 0.05}")
    shot = pipe("image.ShotNoise: {photons: 50}")
    speckle = pipe(f"image.SpeckleNoise: {{std: {STD}}}")
    kornia = K.RandomGaussianNoise(mean=0.0, std=STD, p=1.0).to(device) if K is not None else None

    def plain_sp() -> Any:
        u = torch.rand((b, 1, 256, 256), generator=gen, device=device)
        return torch.where(u < 0.025, 1.0, torch.where(u < 0.05, 0.0, x))

    return {
        "GaussianNoise float32": {
            **ours(gauss, x, idx, device),
            "augnoise on an NHWC copy (layout declared)": lambda: gauss_last.apply_batch(x_last, idx),
            "kornia RandomGaussianNoise": (lambda: kornia(x)) if kornia else None,
            "torch: (x + randn * s).clamp(0, 1)": lambda: (x + torch.randn(x.shape, generator=gen, device=device) * STD).clamp_(0, 1),
        },
        "GaussianNoise uint8": {
            **ours(gauss, x8, idx8, device),
            "torch: float, + randn * s * 255, round, clamp, uint8": lambda: (
                x8.float() + torch.randn(x8.shape, generator=gen, device=device) * (STD * 255)).round_().clamp_(0, 255).to(torch.uint8),
        },
        "SaltAndPepper float32 5%": {
            **ours(sp, x, idx, device),
            "torch: rand per pixel, two where": plain_sp,
        },
        "ShotNoise float32 50 photons": {
            **ours(shot, x, idx, device),
            "torch: poisson(x * k) / k, clamp": lambda: (torch.poisson(x * 50, generator=gen) / 50).clamp_(0, 1),
        },
        "SpeckleNoise float32": {
            **ours(speckle, x, idx, device),
            "torch: (x * (1 + randn * s)).clamp(0, 1)": lambda: (
                x * (1 + torch.randn(x.shape, generator=gen, device=device) * STD)).clamp_(0, 1),
        },
    }


def audio_cases(b: int, n: int, folder: Path, device: str) -> dict[str, dict[str, Callable[[], Any] | None]]:
    import numpy as np
    import soundfile as sf
    import torch

    import augnoise

    rate = 44100
    gen = torch.Generator(device).manual_seed(1)
    t = torch.arange(n, device=device) / rate
    clip = 0.3 * torch.sin(2 * np.pi * 440 * t)
    x = torch.stack([clip, 0.1 * clip])[None].repeat(b, 1, 1).contiguous()
    x += 0.01 * torch.randn(x.shape, generator=gen, device=device)
    idx = list(range(b))
    bank = 0.1 * torch.randn(30 * rate, generator=gen, device=device)  # 30 s of noise, decoded once
    sf.write(str(folder / "noise.wav"), bank.cpu().numpy(), rate, subtype="FLOAT")
    snr = 20.0

    def pipe(step: str) -> Any:  # files it names lie in ``folder`` (a YAML pipeline's files stay in its folder)
        return augnoise.loads(f"seed: 0\nsample: []\nbatch:\n  - {step}\n", base_dir=folder)

    gauss = pipe("audio.GaussianNoise: {std: 0.01}")
    gsnr = pipe(f"audio.GaussianSNR: {{snr_db: {snr}}}")
    color = pipe(f"audio.ColorNoise: {{snr_db: {snr}, color: pink}}")
    background = pipe(f"audio.BackgroundNoise: {{paths: noise.wav, snr_db: {snr}}}")
    batch = {"audio": x, "sample_rate": torch.full((b,), rate)}  # the rate stays on the CPU, as collated

    def at_snr(noise: Any) -> Any:
        scale = (x.pow(2).mean(-1, keepdim=True) / noise.pow(2).mean(-1, keepdim=True) / 10 ** (snr / 10)).sqrt()
        return (x + noise * scale).clamp_(-1, 1)

    def plain_color() -> Any:
        spec = torch.fft.rfft(torch.randn(x.shape, generator=gen, device=device))
        f = torch.arange(spec.shape[-1], dtype=torch.float32, device=device).clamp_(min=1)
        return at_snr(torch.fft.irfft(spec / f.sqrt(), n=n))

    def plain_background() -> Any:
        start = torch.randint(0, bank.numel() - n, (b,), generator=gen, device=device)
        seg = bank[start[:, None] + torch.arange(n, device=device)][:, None]
        return at_snr(seg.expand(b, 2, n))

    return {
        "GaussianNoise": {
            **ours(gauss, batch, idx, device),
            "torch: (x + randn * s).clamp(-1, 1)": lambda: (x + torch.randn(x.shape, generator=gen, device=device) * 0.01).clamp_(-1, 1),
        },
        "GaussianSNR": {
            **ours(gsnr, batch, idx, device),
            "torch: randn scaled to the SNR per channel, clamp": lambda: at_snr(torch.randn(x.shape, generator=gen, device=device)),
        },
        "ColorNoise pink": {
            **ours(color, batch, idx, device),
            "torch: rfft(randn) / sqrt(f), irfft, scaled to the SNR": plain_color,
        },
        "BackgroundNoise": {
            **ours(background, batch, idx, device),
            "torch: random crops of a bank tensor, scaled to the SNR": plain_background,
        },
    }


def table(title: str, cases: dict[str, dict[str, Callable[[], Any] | None]], b: int, rounds: int, unit: str,
          device: str) -> None:
    import torch

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    print(f"\n{title}\n")
    print(f"| kernel | computation | ms per batch | {unit}/s | augnoise speed-up |")
    print("|---|---|---:|---:|---:|")
    for case, fns in cases.items():
        fns = {k: v for k, v in fns.items() if v is not None}
        for fn in fns.values():  # warm-up: compilation, banks, caches
            fn()
        times: dict[str, list[float]] = {k: [] for k in fns}
        for _ in range(rounds):  # interleaved
            for k, fn in fns.items():
                times[k].append(timed(fn, sync))
        ours = median(times["augnoise"])
        for k, ts in times.items():
            t = median(ts)
            print(f"| {case} | {k} | {t * 1e3:.1f} | {b / t:,.0f} | {t / ours:.2f}x |")


def main(quick: bool = False) -> int:
    single_thread()
    import torch

    torch.set_num_threads(1)
    rounds = 3 if quick else 7
    b, ab, n = (4, 2, 44100) if quick else (32, 32, 441000)
    try:
        kornia = f", kornia {__import__('kornia').__version__}"
    except ImportError:  # pragma: no cover
        kornia = ""
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print("augnoise bench batch: the batch stage on tensors (CPU: one thread)")
    print(f"machine: {machine()}, torch {torch.__version__}{kornia}")
    for device in devices:
        name = "CPU" if device == "cpu" else f"CUDA ({torch.cuda.get_device_name()})"
        table(f"{name}, images: float32 NCHW {b} x 3 x 256 x 256 (and uint8), std {STD}", image_cases(b, device),
              b, rounds, "images", device)
        with tempfile.TemporaryDirectory() as folder:
            table(f"{name}, audio: float32 {ab} x 2 x {n} (44.1 kHz stereo), SNR 20 dB",
                  audio_cases(ab, n, Path(folder), device), ab, rounds, "clips", device)
    if devices == ["cpu"]:
        print("\nCUDA: not measured (no CUDA device in this run).")
    return 0


if __name__ == "__main__":
    sys.exit(main(quick="--quick" in sys.argv))
