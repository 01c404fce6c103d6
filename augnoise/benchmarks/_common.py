"""Shared helpers for the benchmarks: single-thread setup, timing, machine description."""
from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Callable


def single_thread() -> None:
    """Pin every library we can reach to one thread (the benchmarks compare one core each)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover
        pass


def rate(fn: Callable[[int], object], calls: int, rounds: int) -> list[float]:
    """Calls per second, one value per round (warm-up call first)."""
    fn(0)
    out = []
    for r in range(rounds):
        t0 = time.perf_counter()
        for i in range(calls):
            fn(r * calls + i)
        out.append(calls / (time.perf_counter() - t0))
    return out


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, one thread per library"
