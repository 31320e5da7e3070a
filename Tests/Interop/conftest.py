"""Shared fixtures: stubs generated at test time from dev/protos, and the nsm binary."""
import os
import socket
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)


@pytest.fixture(scope="session")
def stubs():
    """Python stubs for our .proto files, generated with grpcio-tools (not our generator)."""
    from grpc_tools import protoc
    import grpc_tools

    out = tempfile.mkdtemp(prefix="nsm-stubs-")
    include = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    protos = ["connection.proto", "connectioncontext.proto", "networkservice.proto", "registry.proto", "ipam.proto"]
    rc = protoc.main(["protoc", f"-I{ROOT}/dev/protos", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}", *protos])
    assert rc == 0, "protoc failed"
    sys.path.insert(0, out)
    import registry_pb2, registry_pb2_grpc, networkservice_pb2, networkservice_pb2_grpc, connection_pb2  # noqa: E401

    class Stubs:
        pass

    s = Stubs()
    s.registry_pb2, s.registry_pb2_grpc = registry_pb2, registry_pb2_grpc
    s.networkservice_pb2, s.networkservice_pb2_grpc = networkservice_pb2, networkservice_pb2_grpc
    s.connection_pb2 = connection_pb2
    return s


def nsm_binary():
    path = os.environ.get("NSM_BINARY", os.path.join(ROOT, ".build", "debug", "nsm"))
    assert os.path.exists(path), f"{path} missing: build with swift build first"
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def registry():
    """An `nsm registry` process on a free loopback port; yields its host:port."""
    port = free_port()
    process = subprocess.Popen(
        [nsm_binary(), "registry", "--listen", f"tcp://127.0.0.1:{port}", "--expire-period", "1m"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            line = process.stdout.readline()
            if "registry listening on" in line:
                break
            if process.poll() is not None:
                raise RuntimeError(f"nsm registry exited: {process.stdout.read()}")
        else:
            raise RuntimeError("nsm registry did not start")
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
