"""Namespace theft, tried as an attacker would: a process in pod A, with a grpcio client and the
manager's socket (which every injected pod mounts), asks for an interface in someone else's
namespace — pod B's, a bare one's, the endpoint's, the node's, the machine's — by `inode://` and by
`file://`, over the unix socket and over the manager's TCP port. Every one is refused and nothing
appears anywhere; the same client naming its own namespace gets its interface (so the requests are
well formed and the refusals are the check's)."""
import json
import os
import subprocess

import pytest

from conftest import HERE, nsm_binary
from netns import Namespace

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creates network namespaces")
NAME = f"th{os.getpid()}"
SOCKET = f"unix:///run/nsm-{NAME}/node0/nsm.io.sock"
TCP = "192.168.240.1:5001"
AGENT = f"unix:///run/nsm-{NAME}/spiffe-agent.sock"
NODE0 = f"spiffe://local.nsm/ns/{NAME}/pod/node0"  # what the cluster's agent names node0's processes


def nsm(*args):
    result = subprocess.run([nsm_binary(), *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def inode(path):
    info = os.stat(path)
    return f"inode://{info.st_dev}/{info.st_ino}"


@pytest.fixture(scope="module")
def cluster(stubs):
    nsm("cluster", "up", "--cluster", NAME, "--nodes", "2")
    pods = []
    try:
        nsm("cluster", "endpoint", "--cluster", NAME, "--endpoint-name", "nse-th", "--node", "0",
            "--service-names", "svc-theft", "--cidr-prefix", "172.16.171.0/24")
        pods = [Namespace(f"{NAME}-a"), Namespace(f"{NAME}-b"), Namespace(f"{NAME}-bare")]
        yield {"a": pods[0], "b": pods[1], "bare": pods[2], "stubs": os.path.dirname(stubs.networkservice_pb2.__file__)}
    finally:
        for pod in pods:
            pod.delete()
        subprocess.run([nsm_binary(), "cluster", "down", "--cluster", NAME], capture_output=True, timeout=120)


def ask(cluster, namespace, target, interface, inode_url, *extra, secure=True, token="valid", service="svc-theft"):
    """Runs the grpcio client inside `namespace` (an `ip netns` name) and returns its outcome; with
    mutual TLS and the SVID the cluster's agent gives a process there, unless `secure` is false."""
    env = {**os.environ, "PYTHONPATH": f"{cluster['stubs']}:{HERE}"}
    env.pop("SPIFFE_ENDPOINT_SOCKET", None)
    if secure:
        env.update(SPIFFE_ENDPOINT_SOCKET=AGENT, GRPC_SERVER_ID=NODE0, TOKEN=token)
    import sys
    result = subprocess.run(["ip", "netns", "exec", namespace, sys.executable, os.path.join(HERE, "grpc_request.py"),
                             target, service, interface, inode_url, *extra], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def has_link(namespace, name):
    argv = ["ip", "link", "show", name] if namespace is None else ["ip", "-n", namespace, "link", "show", name]
    return subprocess.run(argv, capture_output=True).returncode == 0


def victims(cluster):
    """(description, `ip -n` name or None for the machine's own, URLs naming it)."""
    named = {
        "pod B": f"{NAME}-b",
        "a bare namespace": f"{NAME}-bare",
        "the endpoint": f"nsm-{NAME}-nse-th",
        "the node": f"nsm-{NAME}-node0",
    }
    found = [(what, netns, [inode(f"/run/netns/{netns}"), f"file:///run/netns/{netns}"]) for what, netns in named.items()]
    # The machine's own namespace, where this test runs (PID 1's may not be readable in a sandbox).
    found.append(("the machine", None, [inode("/proc/self/ns/net"), f"file:///proc/{os.getpid()}/ns/net"]))
    return found


def test_a_pod_gets_an_interface_in_its_own_namespace_only(cluster):
    own = ask(cluster, f"{NAME}-a", SOCKET, "mine0", "file:///proc/thread-self/ns/net")
    assert own["code"] == "OK", own
    assert has_link(f"{NAME}-a", "mine0")
    attempts = 0
    for what, netns, urls in victims(cluster):
        for url in urls:
            outcome = ask(cluster, f"{NAME}-a", SOCKET, "theft0", url)
            attempts += 1
            assert outcome["code"] == "PERMISSION_DENIED", (what, url, outcome)
            assert "own network namespace" in outcome["message"] and "pid" in outcome["message"], outcome
            assert not has_link(netns, "theft0"), f"theft0 appeared in {what}"
    assert attempts == 10
    assert not has_link(f"{NAME}-a", "theft0")


def test_only_the_pod_that_made_a_connection_may_refresh_or_close_it(cluster):
    """Pod B holds pod A's connection as the manager knows it (ids are visible to anyone who watches
    the manager's monitor) and sends it back as a refresh naming its own namespace, and as a Close."""
    made = ask(cluster, f"{NAME}-a", SOCKET, "kept0", "file:///proc/thread-self/ns/net")
    assert made["code"] == "OK", made
    for verb in ["refresh", "close"]:
        outcome = ask(cluster, f"{NAME}-b", SOCKET, "kept0", "file:///proc/thread-self/ns/net", verb, made["connection"])
        assert outcome["code"] == "PERMISSION_DENIED", (verb, outcome)
        assert f"only its creator may {verb}" in outcome["message"], outcome
    assert has_link(f"{NAME}-a", "kept0") and not has_link(f"{NAME}-b", "kept0")
    # Its creator may refresh and close it: the interface goes.
    again = ask(cluster, f"{NAME}-a", SOCKET, "kept0", "file:///proc/thread-self/ns/net", "refresh", made["connection"])
    assert again["code"] == "OK" and again["addresses"] == made["addresses"], again
    assert ask(cluster, f"{NAME}-a", SOCKET, "kept0", "file:///proc/thread-self/ns/net", "close", again["connection"])["code"] == "OK"
    assert not has_link(f"{NAME}-a", "kept0")


@pytest.mark.parametrize("token, refusal", [
    ("none", "carries no token"),
    ("expired", "the token expired"),
    ("other-key", "signature is not by the key of the certificate the caller presented"),
    ("other-audience", "not for this hop"),
    ("spliced", "the path's tokens are not chained: segment 0's is meant for spiffe://local.nsm/ns/elsewhere"),
])
def test_a_request_without_a_valid_token_for_this_hop_is_refused(cluster, token, refusal):
    outcome = ask(cluster, f"{NAME}-a", SOCKET, "tok0", "file:///proc/thread-self/ns/net", token=token)
    assert outcome["code"] == "PERMISSION_DENIED", outcome
    assert refusal in outcome["message"], outcome
    assert not has_link(f"{NAME}-a", "tok0")


def test_a_token_sent_as_upstreams_metadata_is_the_one_checked(cluster):
    """Upstream's clients send their token as `nsm-client-token` metadata too; the server takes it into the
    caller's segment (upstream's updatetoken), so it alone is enough, and a bad one is refused even
    beside a good segment."""
    made = ask(cluster, f"{NAME}-a", SOCKET, "meta0", "file:///proc/thread-self/ns/net", token="metadata-only")
    assert made["code"] == "OK", made
    assert has_link(f"{NAME}-a", "meta0")
    closed = ask(cluster, f"{NAME}-a", SOCKET, "meta0", "file:///proc/thread-self/ns/net", "close", made["connection"], token="metadata-only")
    assert closed["code"] == "OK", closed
    assert not has_link(f"{NAME}-a", "meta0")
    forged = ask(cluster, f"{NAME}-a", SOCKET, "meta1", "file:///proc/thread-self/ns/net", token="metadata-other-key")
    assert forged["code"] == "PERMISSION_DENIED" and "signature is not by the key" in forged["message"], forged
    halved = ask(cluster, f"{NAME}-a", SOCKET, "meta1", "file:///proc/thread-self/ns/net", token="metadata-no-expiry")
    assert halved["code"] == "INVALID_ARGUMENT" and "nsm-client-token-expires" in halved["message"], halved
    assert not has_link(f"{NAME}-a", "meta1")


def test_plaintext_is_refused_over_the_unix_socket_and_tcp(cluster):
    for namespace, target in [(f"{NAME}-a", SOCKET), (f"nsm-{NAME}-node1", TCP)]:
        outcome = ask(cluster, namespace, target, "plain0", "file:///proc/thread-self/ns/net", secure=False)
        assert outcome["code"] == "UNAVAILABLE", outcome
    assert not has_link(f"{NAME}-a", "plain0")


def test_over_tcp_no_namespace_may_be_named(cluster):
    # From the other node, as a remote hop would call; even pod A's own namespace, by inode.
    for what, netns, urls in victims(cluster) + [("pod A", f"{NAME}-a", [inode(f"/run/netns/{NAME}-a")])]:
        outcome = ask(cluster, f"nsm-{NAME}-node1", TCP, "theft1", urls[0])
        assert outcome["code"] == "PERMISSION_DENIED", (what, outcome)
        assert "over the network" in outcome["message"], outcome
        assert not has_link(netns, "theft1"), f"theft1 appeared in {what}"


def test_a_pod_monitors_only_its_own_connections(cluster):
    made = ask(cluster, f"{NAME}-a", SOCKET, "mon0", "file:///proc/thread-self/ns/net")
    assert made["code"] == "OK", made
    seen_by_a = ask(cluster, f"{NAME}-a", SOCKET, "-", "-", "monitor")
    seen_by_b = ask(cluster, f"{NAME}-b", SOCKET, "-", "-", "monitor")
    assert "svc-theft-mon0" in seen_by_a["clients"], seen_by_a
    assert seen_by_b == {"code": "OK", "clients": []}, seen_by_b


def registry_call(cluster, namespace, verb, name, target=SOCKET, server_name="node0", url=None, path=None, server_id=NODE0):
    env = {**os.environ, "PYTHONPATH": f"{cluster['stubs']}:{HERE}", "SPIFFE_ENDPOINT_SOCKET": AGENT}
    if path:
        env.update(PATH_TOKEN=path, SERVER_ID=server_id)
    import sys
    extra = [server_name] + ([url] if url else [])
    result = subprocess.run(["ip", "netns", "exec", namespace, sys.executable, os.path.join(HERE, "grpc_registry_request.py"),
                             target, verb, name, *extra], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_only_an_endpoints_registrant_may_register_or_unregister_its_name(cluster):
    """Pod B, with its own SVID, tries to take over and to remove the endpoint nse-th's registration."""
    for verb in ["register", "unregister"]:
        outcome = registry_call(cluster, f"{NAME}-b", verb, "nse-th")
        assert outcome["code"] == "PERMISSION_DENIED", (verb, outcome)
        assert f"only its registrant may {verb}" in outcome["message"] and "nse-th" in outcome["message"], outcome
    # The endpoint still serves: pod A still gets an interface from it.
    served = ask(cluster, f"{NAME}-a", SOCKET, "still0", "file:///proc/thread-self/ns/net")
    assert served["code"] == "OK" and served["addresses"][0].startswith("172.16.171."), served
    # A name nobody holds may be registered (and then belongs to pod B).
    assert registry_call(cluster, f"{NAME}-b", "register", "nse-b-own")["code"] == "OK"
    assert registry_call(cluster, f"{NAME}-a", "unregister", "nse-b-own")["code"] == "PERMISSION_DENIED"
    assert registry_call(cluster, f"{NAME}-b", "unregister", "nse-b-own")["code"] == "OK"
    # Over the manager's TCP port (another node, with its SVID) no endpoint may register at all.
    remote = registry_call(cluster, f"nsm-{NAME}-node1", "register", "nse-from-afar", target=TCP)
    assert remote["code"] == "PERMISSION_DENIED" and "manager of its own node" in remote["message"], remote


def test_registry_calls_carry_upstreams_registry_path(cluster):
    """Upstream's registry path (`path` metadata): pod B's segment, signed for the manager, is checked
    there and continued to the registry, which records the hops as the entry's path_ids (registrant,
    manager, registry) and answers with the path; a forged or garbled path is refused by name."""
    made = registry_call(cluster, f"{NAME}-b", "register", "nse-pathed", path="valid")
    assert made["code"] == "OK", made
    ids = made["path_ids"]
    assert ids[:2] == [made["self"], NODE0] and len(ids) == 3 and ids[2].startswith("spiffe://local.nsm/"), made
    assert made["path"]["Index"] == 1 and len(made["path"]["PathSegments"]) == 2, made
    assert registry_call(cluster, f"{NAME}-b", "find", "nse-pathed")["path_ids"] == [ids]
    forged = registry_call(cluster, f"{NAME}-b", "unregister", "nse-pathed", path="forged")
    assert forged["code"] == "PERMISSION_DENIED" and "signature is not by the key" in forged["message"], forged
    garbled = registry_call(cluster, f"{NAME}-b", "unregister", "nse-pathed", path="garbled")
    assert garbled["code"] == "INVALID_ARGUMENT" and "metadata path is not a registry path" in garbled["message"], garbled
    assert registry_call(cluster, f"{NAME}-b", "unregister", "nse-pathed", path="valid")["code"] == "OK"
    assert registry_call(cluster, f"{NAME}-b", "find", "nse-pathed")["path_ids"] == []
    # Our own endpoint's registration went the same way: nse-th → node0's manager → the registry.
    [[endpoint, manager, registry]] = registry_call(cluster, f"{NAME}-b", "find", "nse-th")["path_ids"]
    assert endpoint.endswith("/pod/nse-th") and manager == NODE0 and registry == ids[2]


def test_at_the_registry_an_endpoint_is_published_only_under_its_registrants_address(cluster):
    """Node 1's process (a manager's own SVID) calls the registry directly: it may publish under its
    own address, not under node 0's — traffic for that name would go to node 0's manager instead."""
    registry = "192.168.240.254:5002"
    node1 = f"nsm-{NAME}-node1"
    stolen = registry_call(cluster, node1, "register", "nse-misplaced", target=registry, server_name="fabric", url="tcp://192.168.240.1:5001")
    assert stolen["code"] == "PERMISSION_DENIED", stolen
    assert "registrant's own address (tcp://192.168.240.2:<port>)" in stolen["message"], stolen
    own = registry_call(cluster, node1, "register", "nse-placed", target=registry, server_name="fabric", url="tcp://192.168.240.2:5001")
    assert own["code"] == "OK", own
    assert registry_call(cluster, node1, "unregister", "nse-placed", target=registry, server_name="fabric")["code"] == "OK"


def test_an_endpoint_may_not_put_its_side_into_another_namespace(cluster):
    """An endpoint (a real `nsm endpoint` in its own namespace, with its own SVID) answers with pod
    B's namespace for its side of the veth: the forwarder refuses, and pod B gets nothing."""
    import time
    evil = Namespace(f"{NAME}-evil")
    env = {**os.environ, "SPIFFE_ENDPOINT_SOCKET": AGENT}
    endpoint = subprocess.Popen(["ip", "netns", "exec", evil.name, nsm_binary(), "endpoint", "--name", "nse-evil",
                                 "--service-names", "svc-evil", "--cidr-prefix", "172.16.172.0/24", "--connect-to", SOCKET,
                                 "--listen-on", f"unix:///run/nsm-{NAME}/node0/nse-evil.sock",
                                 "--namespace-url", inode(f"/run/netns/{NAME}-b")],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # Until the endpoint is registered the request finds no endpoint; then the forwarder refuses it.
        deadline = time.monotonic() + 30
        while True:
            outcome = ask(cluster, f"{NAME}-a", SOCKET, "evil0", "file:///proc/thread-self/ns/net", service="svc-evil")
            if outcome["code"] == "PERMISSION_DENIED" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert outcome["code"] == "PERMISSION_DENIED", outcome
        assert "its process is in" in outcome["message"], outcome
        assert not has_link(f"{NAME}-b", "evil0") and not has_link(f"{NAME}-a", "evil0")
        assert [name for name in os.popen(f"ip -n {NAME}-b -br link").read().split() if name.startswith("evil")] == []
    finally:
        endpoint.terminate()
        endpoint.wait(timeout=30)
        evil.delete()
