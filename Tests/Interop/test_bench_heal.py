"""`nsm bench heal` as a check, not a measurement: after each fault every pod gets its service
back, the restarts of the endpoints' node and of the registry lose no probe (the data path lives
in the kernel), and nothing is left behind. How fast is the benchmark's business, not this test's."""
import json
import os
import subprocess

import pytest

from conftest import nsm_binary

FAULTS = ["endpoint-killed", "pod-interface-deleted", "endpoint-interface-deleted", "remote-node-restarted", "registry-restarted"]


@pytest.mark.skipif(os.geteuid() != 0, reason="the benchmark creates network namespaces")
def test_every_pod_comes_back_after_each_fault_and_nothing_is_left():
    result = subprocess.run(
        [nsm_binary(), "bench", "heal", "--sizes", "2", "--faults", ",".join(FAULTS), "--json"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    [run] = json.loads(result.stdout)
    assert run["pods"] == 2
    outcomes = {outcome["fault"]: outcome for outcome in run["faults"]}
    assert list(outcomes) == FAULTS
    for fault, outcome in outcomes.items():
        assert outcome["cut"] >= 1, (fault, outcome)
        assert outcome["notBack"] == 0, (fault, outcome, result.stderr[-4000:])
    # The serving endpoint died: its pods moved to the other one.
    assert outcomes["endpoint-killed"]["reselected"] == outcomes["endpoint-killed"]["cut"]
    for restart in ["remote-node-restarted", "registry-restarted"]:
        assert outcomes[restart]["lostMax"] == 0, (restart, outcomes[restart], result.stderr[-4000:])
    assert run["leftovers"] == []
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    assert "nsmheal" not in namespaces
