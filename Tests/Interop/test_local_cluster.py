"""`nsm cluster up|endpoint|down` and `nsm run` as a user drives them: real processes and
namespaces, the spec's annotation forms, label steering, excluded prefixes, no leftovers."""
import json
import os
import subprocess

import pytest

from conftest import nsm_binary

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creates network namespaces")
NAME = f"it{os.getpid()}"


def nsm(*args, check=True, timeout=120):
    result = subprocess.run([nsm_binary(), *args], capture_output=True, text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def register_matches(stubs):
    """Label steering is the NetworkService's job: app=foo → endpoints labelled app=foo, app=bar → app=bar, others → app=foo."""
    import grpc
    import time

    time.sleep(0.5)  # let the endpoints' own first registration of the service land first
    with grpc.insecure_channel(f"unix:///run/nsm-{NAME}/registry.sock") as channel:
        registry = stubs.registry_pb2_grpc.NetworkServiceRegistryStub(channel)
        service = stubs.registry_pb2.NetworkService(name="my-networkservice-1", payload="ETHERNET")
        for app in ("foo", "bar"):
            match = service.matches.add()
            match.source_selector["app"] = app
            match.routes.add().destination_selector["app"] = app
        fallback = service.matches.add()  # requests without app= go to app=foo
        fallback.routes.add().destination_selector["app"] = "foo"
        registry.Register(service, timeout=10)


@pytest.fixture(scope="module")
def cluster(stubs):
    nsm("cluster", "up", "--name", NAME)
    try:
        nsm("cluster", "endpoint", "--name", NAME, "--endpoint-name", "nse-foo", "--node", "0",
            "--services", "my-networkservice-1", "--labels", "app=foo", "--cidr", "172.16.61.0/24",
            "--dns-zone", "foo.nsm", "--dns-records", "db=172.16.99.1,endpoint=self")
        nsm("cluster", "endpoint", "--name", NAME, "--endpoint-name", "nse-bar", "--node", "1",
            "--services", "my-networkservice-1", "--labels", "app=bar", "--cidr", "172.16.62.0/24",
            "--dns-zone", "bar.nsm", "--dns-records", "db=172.16.99.2")
        # Addresses that collide with the cluster's excluded prefixes (10.96.0.0/12) are never handed out.
        nsm("cluster", "endpoint", "--name", NAME, "--endpoint-name", "nse-excl", "--node", "1",
            "--services", "svc-excluded", "--cidr", "10.96.0.0/30")
        register_matches(stubs)
        yield NAME
    finally:
        nsm("cluster", "down", "--name", NAME, check=False)


def run_in_pod(annotation, script):
    return nsm("run", "--cluster", NAME, "--annotation", annotation, "--", "sh", "-c", script, check=False)


def addresses(output):
    return {line.split()[0]: line.split()[2:] for line in output.splitlines() if line.startswith(("nsm-", "my-"))}


@pytest.mark.parametrize("annotation, interface", [
    ("kernel://my-networkservice-1", None),
    ("kernel://my-networkservice-1/nsm-1", "nsm-1"),
    ("kernel://my-networkservice-1/nsm-1?app=foo&version=v1.1", "nsm-1"),
])
def test_spec_examples_get_an_interface_and_reach_the_endpoint(cluster, annotation, interface):
    result = run_in_pod(annotation, "ip -br -4 addr show | grep -v '^lo'; ip -4 route show")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if not line.startswith(("lo", "eth0"))]
    name = lines[0].split()[0].split("@")[0]
    if interface:
        assert name == interface
    else:
        assert name.startswith("my-networ") and len(name) == 15
    assert "/32" in lines[0]


def test_labels_steer_and_two_services_do_not_overlap(cluster):
    script = "ip -br -4 addr show; ping -c 1 -W 2 -I nsm-1 172.16.61.0 >/dev/null && ping -c 1 -W 2 -I nsm-2 172.16.62.0 >/dev/null && echo PINGS-OK"
    result = run_in_pod("kernel://my-networkservice-1/nsm-1?app=foo, kernel://my-networkservice-1/nsm-2?app=bar", script)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PINGS-OK" in result.stdout
    table = result.stderr
    rows = {line.split()[2]: line.split()[4] for line in table.splitlines() if line.startswith("pod-")}
    assert rows == {"nsm-1": "nse-foo", "nsm-2": "nse-bar"}, table
    assert "nsm-1" in result.stdout and "172.16.61.1/32" in result.stdout and "172.16.62.1/32" in result.stdout


def test_excluded_prefixes_are_never_handed_out(cluster):
    result = nsm("run", "--cluster", NAME, "--timeout", "5", "--annotation", "kernel://svc-excluded/nsm-1", "--", "true", check=False)
    assert result.returncode != 0
    assert "no two free addresses left outside the excluded prefixes" in result.stderr


def test_dns_in_the_pod_resolves_cluster_and_connected_service_names(cluster):
    script = ("grep -v '^#' /etc/resolv.conf; for n in db.foo.nsm db.bar.nsm endpoint.foo.nsm registry.nsm-system.svc.cluster.local "
              "kubernetes.default; do getent hosts $n || echo \"$n UNRESOLVED\"; done")
    both = run_in_pod("kernel://my-networkservice-1/nsm-1?app=foo, kernel://my-networkservice-1/nsm-2?app=bar", script)
    assert both.returncode == 0, both.stdout + both.stderr
    lines = both.stdout.splitlines()
    assert "nameserver 127.0.0.1" in lines
    assert "search default.svc.cluster.local svc.cluster.local cluster.local foo.nsm bar.nsm" in lines
    assert "172.16.99.1     db.foo.nsm" in lines and "172.16.99.2     db.bar.nsm" in lines
    assert "172.16.61.0     endpoint.foo.nsm" in lines
    assert any(line.startswith("192.168.240.254 registry.nsm-system.svc.cluster.local") for line in lines)
    assert any(line.startswith("10.96.0.1 ") for line in lines), both.stdout
    # Connected to foo only: bar's names are not resolvable (its DNS is not the pod's).
    foo = run_in_pod("kernel://my-networkservice-1/nsm-1?app=foo", "getent hosts db.bar.nsm || echo UNRESOLVED; getent hosts db.foo.nsm")
    assert "UNRESOLVED" in foo.stdout and "172.16.99.1" in foo.stdout, foo.stdout + foo.stderr
    assert not [name for name in os.listdir("/etc/netns") if name.startswith(f"nsm-{NAME}-")] if os.path.isdir("/etc/netns") else True


def test_command_status_and_cleanup(cluster):
    assert run_in_pod("kernel://my-networkservice-1/nsm-1?app=bar", "exit 7").returncode == 7
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert [line for line in namespaces.splitlines() if f"nsm-{NAME}-pod" in line] == []


def test_down_leaves_nothing():
    nsm("cluster", "up", "--name", NAME + "d")
    nsm("cluster", "down", "--name", NAME + "d")
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"nsm-{NAME}d-" not in namespaces
    assert not os.path.exists(f"/run/nsm-{NAME}d")


def test_endpoints_added_side_by_side_are_all_recorded_and_stopped():
    """Two `nsm cluster endpoint` at once: both land in cluster.json, and `down` stops both."""
    name = f"par{os.getpid()}"
    nsm("cluster", "up", "--name", name)
    try:
        starts = [subprocess.Popen([nsm_binary(), "cluster", "endpoint", "--name", name, "--endpoint-name", f"nse-p{i}", "--node", "1",
                                    "--services", f"svc-p{i}", "--cidr", f"172.16.{70 + i}.0/24"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i in range(3)]
        for start in starts:
            output, _ = start.communicate(timeout=60)
            assert start.returncode == 0, output
        with open(f"/run/nsm-{name}/cluster.json") as f:
            pids = json.load(f)["pids"]
        assert {f"nse-p{i}" for i in range(3)} <= set(pids), pids
        endpoint_pids = [pids[f"nse-p{i}"] for i in range(3)]
    finally:
        nsm("cluster", "down", "--name", name, check=False)
    for pid in endpoint_pids:
        assert not os.path.exists(f"/proc/{pid}") or "zombie" in open(f"/proc/{pid}/status").read().lower(), f"endpoint pid {pid} survived cluster down"
