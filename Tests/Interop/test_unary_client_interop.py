"""Our lean unary gRPC client (the request path's hops) against a server that is not ours:
grpcio (gRPC C core) plays a node manager; `nsm client` requests through it, then closes."""
import os
import signal
import subprocess
import tempfile
import threading
import time
from concurrent import futures

import grpc
import pytest

from conftest import INSECURE, nsm_binary


class FakeManager:
    """NetworkService + MonitorConnection over grpcio; records what arrives."""

    def __init__(self, stubs, fail_first):
        self.stubs = stubs
        self.fail_first = fail_first
        self.requests = []
        self.closes = []
        self.time_remaining = []
        self.lock = threading.Lock()

    def Request(self, request, context):
        with self.lock:
            self.requests.append(request)
            self.time_remaining.append(context.time_remaining())
            first = len(self.requests) == 1
        if first and self.fail_first:
            context.abort(grpc.StatusCode.NOT_FOUND, "no endpoint for 100% ü")
        connection = self.stubs.connection_pb2.Connection()
        connection.CopyFrom(request.connection)
        connection.mechanism.CopyFrom(request.mechanism_preferences[0])
        connection.network_service_endpoint_name = "nse-python"
        connection.context.ip_context.src_ip_addrs.append("172.31.9.1/32")
        connection.context.ip_context.dst_ip_addrs.append("172.31.9.0/32")
        return connection

    def Close(self, request, context):
        from google.protobuf import empty_pb2
        with self.lock:
            self.closes.append(request)
        return empty_pb2.Empty()

    def MonitorConnections(self, request, context):
        event = self.stubs.connection_pb2.ConnectionEvent()
        event.type = self.stubs.connection_pb2.INITIAL_STATE_TRANSFER
        yield event
        while context.is_active():
            time.sleep(0.1)


def wait_for(predicate, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("fail_first", [False, True])
def test_nsm_client_requests_and_closes_through_a_grpcio_server(stubs, fail_first):
    import connection_pb2_grpc

    socket_path = os.path.join(tempfile.mkdtemp(prefix="nsm-unary-"), "manager.sock")
    manager = FakeManager(stubs, fail_first)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    stubs.networkservice_pb2_grpc.add_NetworkServiceServicer_to_server(manager, server)
    connection_pb2_grpc.add_MonitorConnectionServicer_to_server(manager, server)
    server.add_insecure_port(f"unix://{socket_path}")
    server.start()
    client = subprocess.Popen(
        [nsm_binary(), "client", "--connect-to", f"unix://{socket_path}", "--name", "pyclient",
         "--network-services", "kernel://svc-py/nsm-7?app=py", "--local-dns-server-enabled", "false",
         "--request-timeout", "12s"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "NSM_LOG_LEVEL": "INFO", **INSECURE},
    )
    try:
        wait_for(lambda: len(manager.requests) >= (2 if fail_first else 1), 20, "the client's request")
        request = manager.requests[-1]
        assert request.connection.id == "pyclient-0"
        assert request.connection.network_service == "svc-py"
        assert dict(request.connection.labels)["app"] == "py"
        preference = request.mechanism_preferences[0]
        assert (preference.cls, preference.type) == ("LOCAL", "KERNEL")
        assert preference.parameters["name"] == "nsm-7"
        assert preference.parameters["inodeURL"].startswith("inode://")
        # The deadline travelled as grpc-timeout.
        remaining = manager.time_remaining[-1]
        assert remaining is not None and 9 < remaining <= 12
    finally:
        client.send_signal(signal.SIGTERM)
        try:
            output, _ = client.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            client.kill()
            output, _ = client.communicate()
        server.stop(0)
    assert client.returncode == 0, output
    assert [c.id for c in manager.closes] == ["pyclient-0"], output
    assert manager.closes[0].network_service_endpoint_name == "nse-python"
    if fail_first:
        assert "no endpoint for 100% ü" in output
