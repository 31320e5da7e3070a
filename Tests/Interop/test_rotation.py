"""SVIDs that expire every few seconds: the local cluster's agent issues 4-second SVIDs (rotated
every 2 s) to every component and to the pod's client; a pod's connection made at the start still
carries traffic after several rotations, and its SVIDs did rotate meanwhile."""
import os
import subprocess

import pytest

from conftest import nsm_binary

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creates network namespaces")
NAME = f"rot{os.getpid()}"


def nsm(*args, env=None):
    result = subprocess.run([nsm_binary(), *args], capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})})
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_connections_survive_svid_rotation(stubs):
    nsm("cluster", "up", "--cluster", NAME, "--nodes", "1", env={"NSM_LOCAL_SVID_LIFETIME": "4s"})
    try:
        nsm("cluster", "endpoint", "--cluster", NAME, "--endpoint-name", "nse-rot", "--node", "0",
            "--service-names", "svc-rot", "--cidr-prefix", "172.16.181.0/24")
        # The pod's command outlives four rotations of every SVID, then pings its endpoint.
        run = nsm("run", "--cluster", NAME, "--annotation", "kernel://svc-rot/nsm-1", "--",
                  "sh", "-c", "sleep 9; ping -c 2 -W 2 -I nsm-1 172.16.181.0")
        assert "2 received" in run.stdout, run.stdout
        # The SVIDs did rotate: one fetched now and one fetched past its half-life differ, and
        # both are valid for 4 s only.
        from spiffe_client import fetch_svid
        import time
        socket = f"unix:///run/nsm-{NAME}/spiffe-agent.sock"
        first = fetch_svid(socket)
        deadline = time.monotonic() + 10  # the agent renews at half of the 4 s lifetime
        while (second := fetch_svid(socket))[1] == first[1]:
            assert time.monotonic() < deadline, "the agent never rotated the SVID"
            time.sleep(0.2)
        assert first[0] == second[0], "a new certificate for the same identity"
    finally:
        subprocess.run([nsm_binary(), "cluster", "down", "--cluster", NAME], capture_output=True, timeout=120)
