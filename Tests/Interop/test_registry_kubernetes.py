"""`nsm registry --store kubernetes` on the test API server (a stand-in for kube-apiserver): what it
writes is upstream's object shape as kubectl shows it, what upstream writes it serves, replicas
sharing one API server agree, and expiry comes from the objects."""
import json
import os
import shutil
import subprocess
import tempfile
import time

import grpc
import pytest

from conftest import apply_crds, free_port, kubectl, start_apiserver, start_registry, stop
from test_kubernetes_crds import UPSTREAM_NSE


@pytest.fixture()
def cluster():
    directory = tempfile.mkdtemp(prefix="nsm-kube-")
    apiserver, _ = start_apiserver(directory)
    kubeconfig = os.path.join(directory, "kubeconfig")
    apply_crds(kubeconfig)
    started = []

    def registry(*extra):
        port = free_port()
        started.append(start_registry(port, "--store", "kubernetes", "--kubeconfig", kubeconfig, "--namespace", "nsm-system", *extra))
        return f"127.0.0.1:{port}"

    try:
        yield kubeconfig, registry
    finally:
        for process in started:
            stop(process)
        stop(apiserver)
        shutil.rmtree(directory, ignore_errors=True)


def until(what, condition, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def nse_stub(stubs, address):
    return stubs.registry_pb2_grpc.NetworkServiceEndpointRegistryStub(grpc.insecure_channel(address))


def find(stubs, stub, **fields):
    query = stubs.registry_pb2.NetworkServiceEndpointQuery(network_service_endpoint=stubs.registry_pb2.NetworkServiceEndpoint(**fields))
    return [r.network_service_endpoint for r in stub.Find(query, timeout=10)]


def test_objects_in_upstreams_shape_both_ways(stubs, cluster):
    kubeconfig, registry = cluster
    stub = nse_stub(stubs, registry())
    nse = stubs.registry_pb2.NetworkServiceEndpoint(name="nse-ours", network_service_names=["svc"], url="tcp://127.0.0.1:5007")
    nse.network_service_labels["svc"].labels.update({"app": "a"})
    stub.Register(nse, timeout=10)
    stored = json.loads(kubectl(kubeconfig, "get", "nse", "-n", "nsm-system", "nse-ours", "-o", "json"))
    spec = stored["spec"]
    assert spec["network_service_names"] == ["svc"] and spec["url"] == "tcp://127.0.0.1:5007"
    assert spec["network_service_labels"] == {"svc": {"labels": {"app": "a"}}}
    assert set(spec["expiration_time"]) <= {"seconds", "nanos"} and spec["expiration_time"]["seconds"] > time.time()
    # An object written as upstream's registry-k8s writes it, in another namespace, is served.
    upstream = json.loads(json.dumps(UPSTREAM_NSE))
    upstream["metadata"]["namespace"] = "other"
    upstream["spec"]["expiration_time"] = {"seconds": int(time.time()) + 300}
    kubectl(kubeconfig, "apply", "--validate=false", "-f", "-", stdin=json.dumps(upstream))
    found = until("the upstream object", lambda: find(stubs, stub, name="nse-kernel-5f7c9"))
    assert found[0].url == "tcp://10.244.1.5:5001" and list(found[0].network_service_names) == ["kernel2ethernet2kernel"]
    table = kubectl(kubeconfig, "get", "nses", "-A")
    assert "nse-ours" in table and "nse-kernel-5f7c9" in table


def test_replicas_on_one_api_server_agree(stubs, cluster):
    _, registry = cluster
    first, second = nse_stub(stubs, registry()), nse_stub(stubs, registry())
    query = stubs.registry_pb2.NetworkServiceEndpointQuery(
        network_service_endpoint=stubs.registry_pb2.NetworkServiceEndpoint(network_service_names=["svc"]), watch=True)
    events = first.Find(query, timeout=20)
    nse = stubs.registry_pb2.NetworkServiceEndpoint(name="nse-shared", network_service_names=["svc"], url="tcp://127.0.0.1:5008")
    second.Register(nse, timeout=10)
    assert until("the first replica to see it", lambda: find(stubs, first, name="nse-shared"))
    # A renewal through one replica, the removal through the other: the first's watch sees both.
    second.Register(nse, timeout=10)
    first.Unregister(stubs.registry_pb2.NetworkServiceEndpoint(name="nse-shared"), timeout=10)
    seen = []
    for response in events:
        seen.append((response.network_service_endpoint.name, response.deleted))
        if response.deleted:
            break
    events.cancel()
    assert seen[0] == ("nse-shared", False) and seen[-1] == ("nse-shared", True)
    assert until("the second replica to forget it", lambda: not find(stubs, second, name="nse-shared"))


def test_expiry_comes_from_the_object(stubs, cluster):
    kubeconfig, registry = cluster
    stub = nse_stub(stubs, registry("--expire-period", "2s"))
    stub.Register(stubs.registry_pb2.NetworkServiceEndpoint(name="nse-short", network_service_names=["svc"], url="tcp://127.0.0.1:5009"), timeout=10)
    assert "nse-short" in kubectl(kubeconfig, "get", "nses", "-n", "nsm-system")
    until("the expired object to be deleted", lambda: "nse-short" not in kubectl(kubeconfig, "get", "nses", "-A"), seconds=20)
    assert find(stubs, stub, name="nse-short") == []


def watching_replicas(stubs, kubeconfig, processes):
    """The CRDs applied and two registry replicas on the API server (appended to `processes`);
    returns a stub of each and the first one's open watch of service "svc"."""
    apply_crds(kubeconfig)
    addresses = []
    for _ in range(2):
        registry_port = free_port()
        processes.append(start_registry(registry_port, "--store", "kubernetes", "--kubeconfig", kubeconfig, "--namespace", "nsm-system"))
        addresses.append(f"127.0.0.1:{registry_port}")
    watcher, writer = nse_stub(stubs, addresses[0]), nse_stub(stubs, addresses[1])
    query = stubs.registry_pb2.NetworkServiceEndpointQuery(
        network_service_endpoint=stubs.registry_pb2.NetworkServiceEndpoint(network_service_names=["svc"]), watch=True)
    return watcher, writer, watcher.Find(query, timeout=60)


def test_watches_ending_and_expiring_lose_nothing(stubs):
    """Faults between the registry and the API server: every watch ends after a second, and open
    watches are ended with 410 Expired (the registry relists) while registrations go on. The
    watching replica's Find ends up with every endpoint, once each, and its watch saw them."""
    directory = tempfile.mkdtemp(prefix="nsm-kube-")
    apiserver, port = start_apiserver(directory, "--watch-seconds", "1", "--bookmark-seconds", "0.2")
    kubeconfig = os.path.join(directory, "kubeconfig")
    processes = [apiserver]
    try:
        watcher, writer, events = watching_replicas(stubs, kubeconfig, processes)
        names = [f"nse-{i}" for i in range(20)]
        for index, name in enumerate(names):
            writer.Register(stubs.registry_pb2.NetworkServiceEndpoint(name=name, network_service_names=["svc"], url="tcp://127.0.0.1:5011"), timeout=10)
            if index % 5 == 4:
                subprocess.run(["curl", "-sf", "--cacert", os.path.join(directory, "ca.crt"), "-H", "Authorization: Bearer test-token",
                                f"https://127.0.0.1:{port}/__test/expire-watches"], check=True, capture_output=True)
            time.sleep(0.1)  # pacing: the registrations span several watches
        found = until("every endpoint on the watching replica", lambda: (lambda f: f if len(f) == 20 else None)(find(stubs, watcher, network_service_names=["svc"])))
        assert sorted(e.name for e in found) == sorted(names)
        seen = set()
        for response in events:
            seen.add(response.network_service_endpoint.name)
            if seen >= set(names):
                break
        events.cancel()
        assert seen >= set(names)
    finally:
        for process in reversed(processes):
            stop(process)
        shutil.rmtree(directory, ignore_errors=True)


def test_api_server_restart_registry_answers_from_cache_then_catches_up(stubs):
    """The API server stops (its objects kept, as etcd keeps them) and comes back on the same
    address. Meanwhile the registry answers Find from its cache and refuses Register clearly;
    afterwards the watching replica catches up — every endpoint once, registrations and removals
    made after the restart seen on its open watch."""
    directory = tempfile.mkdtemp(prefix="nsm-kube-")
    state = os.path.join(directory, "state.json")
    apiserver, port = start_apiserver(directory, "--state", state)
    kubeconfig = os.path.join(directory, "kubeconfig")
    processes = [apiserver]
    try:
        watcher, writer, events = watching_replicas(stubs, kubeconfig, processes)

        def register(name):
            writer.Register(stubs.registry_pb2.NetworkServiceEndpoint(name=name, network_service_names=["svc"], url="tcp://127.0.0.1:5011"), timeout=10)

        def names_on(stub, count):
            found = sorted(e.name for e in find(stubs, stub, network_service_names=["svc"]))
            return found if len(found) == count else None

        before = [f"nse-{i}" for i in range(5)]
        for name in before:
            register(name)
        until("the first endpoints on the watching replica", lambda: names_on(watcher, 5))

        processes.remove(apiserver)
        stop(apiserver)
        assert names_on(watcher, 5) == before, "Find answers from the cache while the API server is away"
        assert names_on(writer, 5) == before
        with pytest.raises(grpc.RpcError) as refused:
            register("nse-during")
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE, refused.value
        assert "127.0.0.1" in refused.value.details(), refused.value.details()

        apiserver, again = start_apiserver(directory, "--state", state, "--port", str(port))
        processes.insert(0, apiserver)
        assert again == port
        after = [f"nse-{i}" for i in range(5, 10)]
        for name in after:
            until(f"{name} registered after the restart", lambda: _registered(register, name))
        writer.Unregister(stubs.registry_pb2.NetworkServiceEndpoint(name="nse-0", network_service_names=["svc"]), timeout=10)
        expected = sorted(before[1:] + after)
        assert until("the watching replica caught up", lambda: names_on(watcher, 9)) == expected

        seen, removed = set(), False
        for response in events:
            endpoint = response.network_service_endpoint
            if response.deleted:
                removed = removed or endpoint.name == "nse-0"
            else:
                seen.add(endpoint.name)
            if seen >= set(before + after) and removed:
                break
        events.cancel()
        assert "nse-during" not in seen
    finally:
        for process in reversed(processes):
            stop(process)
        shutil.rmtree(directory, ignore_errors=True)


def _registered(register, name):
    """Register once; False while the API server is still coming up (the test retries)."""
    try:
        register(name)
        return True
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.UNAVAILABLE:
            raise
        return False
