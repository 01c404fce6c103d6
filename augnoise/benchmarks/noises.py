"""augnoise bench noises: the noise models of issue 16 against the nearest peer transform.

Each part lives in ``augnoise/benchmarks/_noises_<part>.py`` and yields rows ``Row(step, peer, input,
peer_rate, ours_rate, unit)`` measured with :func:`interleaved` (one thread per library, rounds
interleaved so both see the same machine load, median round reported). augnoise is timed through
a Pipeline, i.e. including the per-sample key derivation that real use pays for.
"""
from __future__ import annotations

import importlib
import sys
from typing import Callable, NamedTuple

from ._common import machine, median, rate, single_thread

PARTS = ("additive", "sensor", "short", "background")


class Row(NamedTuple):
    step: str  # the augnoise step and its parameters
    peer: str  # the peer transform and its parameters
    input: str  # what both ran on
    peer_rate: float  # calls per second
    ours_rate: float
    unit: str = "img/s"


def interleaved(peer: Callable[[int], object], ours: Callable[[int], object], rounds: int,
                budget: float) -> tuple[float, float]:
    """Median calls per second of ``peer`` and ``ours`` over ``rounds`` interleaved rounds of about
    ``budget / rounds`` seconds each (after one warm-up call each)."""
    ours(0)
    probe = rate(peer, 2, 1)[0]
    calls = max(2, int(probe * budget / rounds))
    rp, ro = [], []
    for r in range(rounds):
        rp += rate(lambda i: peer(r * calls + i), calls, 1)
        ro += rate(lambda i: ours(r * calls + i), calls, 1)
    return median(rp), median(ro)


def main(quick: bool = False) -> int:
    single_thread()
    rounds, budget = (2, 0.1) if quick else (7, 1.5)
    print("augnoise bench noises: new noise models vs the nearest peer transform, one thread each")
    print(f"machine: {machine()}")
    print()
    print("| augnoise step | peer | input | peer (/s) | augnoise (/s) | ratio |")
    print("|---|---|---|---:|---:|---:|")
    for part in PARTS:
        try:
            mod = importlib.import_module(f".{'_noises_' + part}", __package__)
        except ModuleNotFoundError as err:
            if err.name != f"{__package__}._noises_{part}":
                raise
            continue
        for row in mod.rows(rounds, budget, interleaved, Row):
            print(f"| {row.step} | {row.peer} | {row.input} | {row.peer_rate:,.0f} | {row.ours_rate:,.0f} "
                  f"| {row.ours_rate / row.peer_rate:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main(quick="--quick" in sys.argv))
