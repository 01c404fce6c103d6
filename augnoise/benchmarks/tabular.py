"""augnoise bench tabular: swap and Gaussian noise on a 1,000,000 x 100 float32 table, as a
ratio to a plain copy of the same table in the same run (the memory-bandwidth floor).

Each operation is timed 5 times (3 with --quick) interleaved with the copy; medians reported.
"""
from __future__ import annotations

import sys
import time

import numpy as np

from ._common import machine, median, single_thread


def main(quick: bool = False) -> int:
    single_thread()
    import augnoise
    from augnoise.tabular import GaussianNoise, MaskNoise, SwapNoise

    rows, cols = (200_000, 100) if quick else (1_000_000, 100)
    rounds = 3 if quick else 5
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, cols), dtype=np.float32)
    x[:, :10] = np.round(x[:, :10] * 3)  # some integer columns
    x[:, 10:15] = x[:, 10:15] > 0  # some binary columns
    x[rng.random((rows, cols)) < 0.01] = np.nan  # 1% missing
    fit_rows = x[:100_000]
    ops = {
        "SwapNoise p_swap=0.15 (fitted donors)": augnoise.Pipeline(sample=[SwapNoise(p_swap=0.15)], seed=0),
        "SwapNoise p_swap=0.15 (donors from the table)": augnoise.Pipeline(sample=[SwapNoise(p_swap=0.15, stats="batch")], seed=0),
        "GaussianNoise scale=0.1": augnoise.Pipeline(sample=[GaussianNoise(scale=0.1)], seed=0),
        "MaskNoise p_mask=0.15 fill=mean": augnoise.Pipeline(sample=[MaskNoise(p_mask=0.15, fill="mean")], seed=0),
    }
    for p in ops.values():
        p.fit(features=fit_rows)
        p({"features": x[:1000]}, index=0)  # compile

    def timed(fn) -> float:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0

    print(f"augnoise bench tabular: {rows:,} x {cols} float32 ({x.nbytes / 2**20:.0f} MiB), 1% NaN, one thread")
    print(f"machine: {machine()}")
    print()
    print("| operation | time (s) | copy (s) | ratio to copy |")
    print("|---|---:|---:|---:|")
    for name, p in ops.items():
        tc, to = [], []
        for r in range(rounds):
            tc.append(timed(lambda: x.copy()))
            to.append(timed(lambda: p({"features": x}, index=r)))
        c, o = median(tc), median(to)
        print(f"| {name} | {o:.3f} | {c:.3f} | {o / c:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main(quick="--quick" in sys.argv))
