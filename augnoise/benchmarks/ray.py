"""augnoise bench ray: rows/s for the tabular Gaussian + swap pipeline on a 1,000,000 x 20
float32 table, every row keyed alone by its row id: the local vectorised path
(``Pipeline.apply_rows``) against Ray with 1 and 2 actors on this machine, and Ray's own floor
in the same run (the same dataset, shuffle and collection through an identity map). Every path
computes the same bytes. Kernels are compiled before timing (numba's cache serves the actors).
--quick uses 50,000 rows."""
from __future__ import annotations

import logging
import sys
import time

import numpy as np

from ._common import machine, single_thread


def main(quick: bool = False) -> int:
    single_thread()
    import pyarrow as pa
    import ray

    import augnoise
    from augnoise.cli.apply_table import augment_local
    from augnoise.ray import augment

    rows, cols = (50_000, 20) if quick else (1_000_000, 20)
    x = np.random.default_rng(0).standard_normal((rows, cols)).astype(np.float32)
    p = augnoise.loads("seed: 0\nsample:\n  - tabular.GaussianNoise: {scale: 0.1}\n  - tabular.SwapNoise: {p_swap: 0.15}\n")
    p.fit(features=x[:100_000])
    print(f"augnoise bench ray: {rows:,} x {cols} table, tabular.GaussianNoise + tabular.SwapNoise, one row per key")
    print(f"machine: {machine()}")
    print()
    print("| path | time (s) | rows/s | vs local |")
    print("|---|---:|---:|---:|")
    augment_local(p, x[:1000], 0)  # compile (or load from numba's cache) before timing
    t0 = time.perf_counter()
    local, _ = augment_local(p, x, 0)
    t_local = time.perf_counter() - t0
    print(f"| local vectorised path, apply_rows (one process) | {t_local:.2f} | {rows / t_local:,.0f} | 1.00x |")
    # 2 cores, but 3 logical CPUs for Ray: two 1-CPU actors must leave one for the read and
    # repartition tasks, or the pipeline stalls (Ray Data's known starvation hang)
    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    ray.data.DataContext.get_current().enable_progress_bars = False
    names = [f"c{j}" for j in range(cols)]
    table = pa.table({**{n: x[:, j] for j, n in enumerate(names)}, "row_id": np.arange(rows)})
    class Identity:
        def __call__(self, batch):
            return batch

    for actors in (1, 2):
        s = "s" if actors > 1 else ""
        ds = ray.data.from_arrow(table).repartition(8)
        t0 = time.perf_counter()
        ds.map_batches(Identity, batch_format="numpy", batch_size=65536, compute=ray.data.ActorPoolStrategy(size=actors),
                       num_cpus=1.0).to_pandas().sort_values("row_id")
        floor = time.perf_counter() - t0
        print(f"| Ray's floor: identity map, {actors} actor{s} | {floor:.2f} | {rows / floor:,.0f} | {t_local / floor:.2f}x |")
        ds = ray.data.from_arrow(table).repartition(8)
        t0 = time.perf_counter()
        out = augment(ds, p, field="features", columns=names, concurrency=actors,
                      num_cpus=1.0).to_pandas().sort_values("row_id")
        dt = time.perf_counter() - t0
        same = np.array_equal(np.stack([out[n].to_numpy() for n in names], axis=1), local)
        print(f"| Ray, augnoise.ray.augment, {actors} actor{s} | {dt:.2f} | {rows / dt:,.0f} | {t_local / dt:.2f}x |"
              + ("" if same else " (OUTPUT DIFFERS)"))
    ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(quick="--quick" in sys.argv))
