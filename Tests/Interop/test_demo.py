"""`nsm demo` end to end, as a user runs it: every step passes and nothing is left behind."""
import os
import subprocess

import pytest

from conftest import nsm_binary


@pytest.mark.skipif(os.geteuid() != 0, reason="the demo creates network namespaces")
def test_demo_runs_end_to_end_and_cleans_up():
    before_links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    result = subprocess.run([nsm_binary(), "demo"], capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Label steering: app=foo went to nse-foo; the second service crossed nodes.
    assert "my-networkservice-1: served by nse-foo —" in output
    assert "path: my-app → nsmgr-node0 → forwarder-node0 → nsmgr-node1 → forwarder-node1 → nse-svc2" in output
    # Addresses of the two services never overlap and avoid the cluster's prefixes.
    assert "nsm-1  veth  mtu 1500  UP  172.16.1.1/32" in output
    assert "vxlan  mtu 1446  UP  172.16.3.1/32" in output
    # Every ping went through, before and after healing (one of them by name).
    assert output.count(", 0% packet loss") == 7, output
    # DNS in the pod: cluster names and each service's names, through the pod's proxy.
    assert "getent hosts registry.nsm-system.svc.cluster.local → 192.168.240.254" in output
    assert "getent hosts kubernetes.default → 10.96.0.1" in output
    assert "getent hosts endpoint.service-1.nsm → 172.16.1.0" in output
    assert "getent hosts web.service-2.nsm → 10.80.0.7" in output
    assert "search default.svc.cluster.local svc.cluster.local cluster.local service-1.nsm service-2.nsm" in output
    assert "endpoint.service-1.nsm now resolves to 172.16.4.0" in output
    assert "The pod's resolv.conf is the original again: yes" in output
    assert "my-networkservice-1 now served by nse-foo-2" in output
    # The node restart kept the pod's interfaces (same names, same indexes).
    restart = next(line for line in output.splitlines() if line.startswith("interfaces before:"))
    before, after = restart[len("interfaces before: "):].split(", after: ")
    assert before == after, restart
    assert "Nothing left behind" in output
    # Checked independently: no namespace of the demo, no new link in this namespace.
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    assert "nsmdemo" not in namespaces
    after_links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    assert len(after_links.splitlines()) == len(before_links.splitlines())
    assert subprocess.run(["pgrep", "-f", "nsm (registry|node|endpoint|dns) "], capture_output=True).returncode == 1
