"""``augnoise.ray`` on a two-node Ray cluster started on this machine with ``ray start`` (a head
plus a second node with its own resources, both stopped at the end), inside a private network
namespace so every address is loopback. Outputs equal the local path byte for byte, also with
the actors pinned to the second node."""
import json
import os
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("ray")
from tests.conftest import ROOT  # noqa: E402


def namespaces_available() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not namespaces_available(), reason="needs 'unshare -n' (a private network namespace)")
def test_two_node_cluster_gives_the_local_bytes():
    try:
        import ray

        ray.shutdown()  # no instance of this process may outlive into the cluster test
    except Exception:
        pass
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    out = subprocess.run(["unshare", "-n", sys.executable, "-m", "tests.helpers.ray_two_nodes"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["nodes"] == 2 and result["addresses"] == ["127.0.0.1"]
    assert result["table anywhere"] and result["table second node"] and result["images on the second node"]
