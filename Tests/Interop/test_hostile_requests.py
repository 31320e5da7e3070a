"""Hostile bytes at the servers a Request crosses — the node's manager and forwarder, and an
endpoint — from a raw HTTP/2 client (PyPI `h2`) over their unix sockets: each case gets a precise
gRPC status naming what was wrong, and the server answers the next good call. (The registry has
its own table in test_hostile_input.py.)"""
import os
import shutil
import tempfile
import time

import pytest

from conftest import INSECURE, free_port, nsm_binary
from hostile_cases import INVALID_ARGUMENT, TRANSPORT_EXPECTED, call_and_check, healthy, transport_cases
from netns import Namespace
from raw_h2 import grpc_message

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runs the mesh in a network namespace of its own")
REQUEST = "/networkservice.NetworkService/Request"


@pytest.fixture(scope="module")
def servers():
    """registry, node (manager + forwarder) and an endpoint in a namespace, in plaintext."""
    directory = tempfile.mkdtemp(prefix="nsm-hostile-req-")
    namespace = Namespace(f"hr{os.getpid()}")
    processes = []
    try:
        registry_port, manager_port = free_port(), free_port()
        os.makedirs(f"{directory}/node")
        sockets = {
            "manager": f"{directory}/node/nsm.sock",
            "forwarder": f"{directory}/node/forwarder.sock",
            "endpoint": f"{directory}/node/nse-hr.sock",
        }
        commands = [
            ("registry", ["registry", "--listen-on", f"tcp://127.0.0.1:{registry_port}"], None),
            ("node", ["node", "--name", "nsmgr-hr", "--node-name", "hr", "--listen-on", f"unix://{sockets['manager']},tcp://127.0.0.1:{manager_port}",
                      "--registry-url", f"tcp://127.0.0.1:{registry_port}", "--tunnel-ip", "127.0.0.1"], ["manager", "forwarder"]),
            ("endpoint", ["endpoint", "--name", "nse-hr", "--service-names", "svc-hr", "--cidr-prefix", "172.16.183.0/24",
                          "--connect-to", f"unix://{sockets['manager']}", "--listen-on", f"unix://{sockets['endpoint']}"], ["endpoint"]),
        ]
        deadline = time.monotonic() + 60
        for name, arguments, serving in commands:
            log = open(f"{directory}/{name}.log", "w")
            process = namespace.popen([nsm_binary(), *arguments], env={**os.environ, **INSECURE}, stdout=log, stderr=log)
            processes.append(process)
            for server in serving or []:
                while not healthy(sockets[server]):
                    assert process.poll() is None, f"{name} exited:\n" + open(log.name).read()
                    assert time.monotonic() < deadline, f"{server} did not serve:\n" + open(log.name).read()
                    time.sleep(0.1)
        yield {"sockets": sockets, "processes": processes}
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in reversed(processes):
            try:
                process.wait(timeout=20)
            except Exception:
                process.kill()
                process.wait()
        namespace.delete()
        shutil.rmtree(directory, ignore_errors=True)


def connection_request(stubs, **fields):
    """A NetworkServiceRequest for service svc-hr with a kernel mechanism preference."""
    connection = stubs.connection_pb2.Connection(id=fields.pop("id", "pod-hr-0"), network_service="svc-hr", **fields)
    mechanism = stubs.connection_pb2.Mechanism(cls="LOCAL", type="KERNEL", parameters={"name": "nsm-1"})
    return stubs.networkservice_pb2.NetworkServiceRequest(connection=connection, mechanism_preferences=[mechanism]).SerializeToString()


def case_body(stubs, name):
    path = stubs.connection_pb2.Path(path_segments=[stubs.connection_pb2.PathSegment(name=f"hop{i}", id=str(i)) for i in range(10_000)])
    cases = transport_cases(REQUEST, connection_request(stubs))
    cases.update({
        "a 1 MB connection id": (REQUEST, grpc_message(connection_request(stubs, id="i" * (1 << 20))), {}),
        "a path of 10,000 segments": (REQUEST, grpc_message(connection_request(stubs, path=path)), {}),
        "10,000 labels": (REQUEST, grpc_message(connection_request(stubs, labels={f"k{i}": "v" for i in range(10_000)})), {}),
        "a 1 MB label value": (REQUEST, grpc_message(connection_request(stubs, labels={"app": "v" * (1 << 20)})), {}),
    })
    return cases[name]


EXPECTED = {
    **TRANSPORT_EXPECTED,
    "a 1 MB connection id": ({INVALID_ARGUMENT}, "at most 512 are accepted"),
    "a path of 10,000 segments": ({INVALID_ARGUMENT}, "10000 segments; at most 32"),
    "10,000 labels": ({INVALID_ARGUMENT}, "10000 entries; at most 256"),
    "a 1 MB label value": ({INVALID_ARGUMENT}, "longer than 1024 bytes"),
}


@pytest.mark.parametrize("server", ["manager", "forwarder", "endpoint"])
@pytest.mark.parametrize("name", list(EXPECTED))
def test_hostile_request_gets_a_precise_status_and_the_server_serves_on(servers, stubs, server, name):
    call_and_check(servers["sockets"][server], case_body(stubs, name), EXPECTED[name])
    assert all(process.poll() is None for process in servers["processes"])
    assert healthy(servers["sockets"][server])
