"""Run inside a private network namespace (only loopback): start a two-node Ray cluster with
``ray start`` (a head and a second node with its own resource), augment a table and images on
it, compare with the local paths byte for byte, stop both nodes. Prints one JSON line.

Each node has 2 logical CPUs: with 1, fractional actors on both nodes leave no node a whole
CPU for the repartition tasks, and Ray Data waits forever."""
import json
import os
import subprocess
import sys

import numpy as np

RAY = os.path.join(os.path.dirname(sys.executable), "ray")
PORT = "6391"
# the cluster lives in a private namespace: no token (the driver must agree, so set it here too)
os.environ.update({"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"})
ENV = dict(os.environ)


def sh(*args: str) -> None:
    subprocess.run(args, check=True, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)


def main() -> dict:
    import logging

    import pyarrow as pa
    import ray

    import augnoise
    from augnoise.ray import augment

    sh("ip", "link", "set", "lo", "up")
    sh(RAY, "start", "--head", f"--port={PORT}", "--num-cpus=2", '--resources={"head_node": 1}',
       "--include-dashboard=false", "--disable-usage-stats")
    sh(RAY, "start", f"--address=127.0.0.1:{PORT}", "--num-cpus=2", '--resources={"second_node": 1}',
       "--disable-usage-stats")
    ray.init(address=f"127.0.0.1:{PORT}", log_to_driver=False, logging_level=logging.ERROR)
    ray.data.DataContext.get_current().enable_progress_bars = False
    nodes = [n for n in ray.nodes() if n["Alive"]]
    out = {"nodes": len(nodes), "addresses": sorted({n["NodeManagerAddress"] for n in nodes})}

    x = np.random.default_rng(1).normal(size=(300, 5))
    x[3, 1] = np.nan
    p = augnoise.loads("seed: 8\nsample:\n  - tabular.GaussianNoise: {scale: 0.3}\n  - tabular.SwapNoise: {p_swap: 0.2}\n")
    p.fit(features=x)
    names = [f"c{j}" for j in range(5)]
    ds = ray.data.from_arrow(pa.table({**{n: x[:, j] for j, n in enumerate(names)}, "rid": np.arange(300) + 5}))
    local = p.apply_rows(x, np.arange(300) + 5, epoch=1)
    for where, extra in (("anywhere", {}), ("second node", {"resources": {"second_node": 0.1}})):
        got = augment(ds.repartition(3), p, field="features", columns=names, id_column="rid", epoch=1, batch_size=40,
                      concurrency=2, num_cpus=0.25, **extra).to_pandas().sort_values("rid")
        y = np.stack([got[n].to_numpy() for n in names], axis=1)
        out[f"table {where}"] = bool(np.array_equal(y, local, equal_nan=True))

    img = augnoise.load("pipelines/image_noise.yaml")
    images = np.random.default_rng(2).integers(0, 256, (12, 16, 16, 3), dtype=np.uint8)
    rows = augment(ray.data.from_items([{"image": im, "row_id": i} for i, im in enumerate(images)]), img, field="image",
                   id_column="row_id", epoch=0, num_cpus=0.25, resources={"second_node": 0.1}).take_all()
    out["images on the second node"] = all(np.array_equal(r["image"], img(images[r["row_id"]], index=r["row_id"]))
                                           for r in rows) and len(rows) == 12
    ray.shutdown()
    return out


if __name__ == "__main__":
    try:
        result = main()
    finally:
        subprocess.run([RAY, "stop", "--force"], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=120)
    print(json.dumps(result))
