"""augnoise bench batch: batch-stage kernels on CPU tensors, one thread, against the peers
on the same data in the same run.

Images: a float32 and a uint8 batch of 32 x 256 x 256 x 3 (the batch stage's channels-last
layout); kornia's RandomGaussianNoise gets the same float32 values as a contiguous NCHW batch
(its layout), and plain torch ``(x + randn_like(x) * s).clamp(0, 1)`` is the hand-written
reference. augnoise runs through ``Pipeline.apply_batch`` (keys, draws and dispatch included);
on CPU tensors that is the numba kernel on the tensor's own memory. Rounds are interleaved;
medians reported.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path


sys.path.append(str(Path(__file__).resolve().parent))  # after site-packages: ray.py must not shadow ray
from _common import machine, median, single_thread  # noqa: E402

STD = 0.1


def timeit(fn, rounds: int) -> list[float]:
    fn()
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main(quick: bool = False) -> int:
    single_thread()
    import torch

    import augnoise

    torch.set_num_threads(1)
    try:
        import kornia.augmentation as K
    except ImportError:  # pragma: no cover - the bench extra installs it
        K = None
    rounds = 3 if quick else 9
    b = 8 if quick else 32
    gen = torch.Generator().manual_seed(0)
    x = torch.rand((b, 256, 256, 3), generator=gen)
    x8 = (x * 255).round().to(torch.uint8)
    nchw = x.permute(0, 3, 1, 2).contiguous()
    idx = list(range(b))
    gauss = augnoise.loads(f"seed: 0\nsample: []\nbatch:\n  - image.GaussianNoise: {{std: {STD}}}\n")
    sp = augnoise.loads("seed: 0\nsample: []\nbatch:\n  - image.SaltAndPepper: {amount: 0.05}\n")
    kornia = K.RandomGaussianNoise(mean=0.0, std=STD, p=1.0) if K is not None else None

    def plain_gauss():
        return (x + torch.randn(x.shape, generator=gen) * STD).clamp_(0, 1)

    def plain_sp():
        u = torch.rand(x.shape[:-1], generator=gen)[..., None]
        return torch.where(u < 0.025, 1.0, torch.where(u < 0.05, 0.0, x))

    cases = {
        "float32": {
            "augnoise image.GaussianNoise": lambda: gauss.apply_batch(x, idx),
            "kornia RandomGaussianNoise (NCHW copy of the same values)": (lambda: kornia(nchw)) if kornia else None,
            "plain torch: (x + randn_like(x) * s).clamp(0, 1)": plain_gauss,
        },
        "uint8": {
            "augnoise image.GaussianNoise": lambda: gauss.apply_batch(x8, idx),
            "plain torch: float, add randn * s * 255, round, clamp, uint8": lambda: (
                x8.float() + torch.randn(x8.shape, generator=gen) * (STD * 255)).round_().clamp_(0, 255).to(torch.uint8),
        },
        "float32 salt-and-pepper 5%": {
            "augnoise image.SaltAndPepper": lambda: sp.apply_batch(x, idx),
            "plain torch: rand per pixel, two where": plain_sp,
        },
    }
    print(f"augnoise bench batch: batch stage on CPU tensors, {b} x 256 x 256 x 3, std {STD}, one thread")
    print(f"machine: {machine()}, torch {torch.__version__}" + (f", kornia {__import__('kornia').__version__}" if K else ""))
    print()
    print("| batch | computation | ms per batch | images/s | augnoise speed-up |")
    print("|---|---|---:|---:|---:|")
    for batch, fns in cases.items():
        fns = {k: v for k, v in fns.items() if v is not None}
        times = {k: [] for k in fns}
        for _ in range(rounds):  # interleaved
            for k, fn in fns.items():
                times[k] += timeit(fn, 1)
        ours = median(next(iter(times.values())))
        for k, ts in times.items():
            t = median(ts)
            print(f"| {batch} | {k} | {t * 1e3:.1f} | {b / t:,.0f} | {t / ours:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main(quick="--quick" in sys.argv))
