"""Shared fixtures: stubs generated at test time from dev/protos, and the nsm binary."""
import os
import shutil
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
    protos = ["connection.proto", "connectioncontext.proto", "networkservice.proto", "registry.proto", "ipam.proto", "spiffe/workload.proto"]
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


def start_apiserver(directory, *extra):
    """The test Kubernetes API server (Tests/KubernetesAPIServer) in `directory`; returns (process, port)."""
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "Tests", "KubernetesAPIServer", "apiserver.py"), "--dir", directory, *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = process.stdout.readline()
    if not line.startswith("PORT "):
        process.kill()
        raise RuntimeError(f"the test API server did not start: {line}{process.stdout.read()}")
    return process, int(line.split()[1])


def apply_crds(kubeconfig):
    for name in ("networkserviceendpoints.yaml", "networkservices.yaml"):
        subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "apply", "--validate=false", "-f", os.path.join(ROOT, "deploy", "crds", name)],
                       check=True, capture_output=True, timeout=60)


def kubectl_result(kubeconfig, *args, stdin=None):
    """kubectl (a real client) against `kubeconfig`, whatever it answers."""
    return subprocess.run(["kubectl", "--kubeconfig", kubeconfig, *args], input=stdin, capture_output=True, text=True, timeout=60)


def kubectl(kubeconfig, *args, stdin=None):
    """kubectl against `kubeconfig`; asserts it succeeded and returns its output."""
    result = kubectl_result(kubeconfig, *args, stdin=stdin)
    assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stdout}{result.stderr}"
    return result.stdout


# What a component started alone (not in a local cluster) needs to speak plaintext gRPC with
# the plaintext grpcio clients and servers of these tests (refused without it: no SPIFFE identity).
INSECURE = {"NSM_INSECURE": "true"}


def start_registry(port, *extra):
    """`nsm registry` on 127.0.0.1:`port` (plaintext), returned once it listens."""
    process = subprocess.Popen(
        [nsm_binary(), "registry", "--listen", f"tcp://127.0.0.1:{port}", "--expire-period", "1m", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **INSECURE},
    )
    deadline = time.time() + 20
    while time.time() < deadline:
        line = process.stdout.readline()
        if "registry listening on" in line:
            return process
        if process.poll() is not None:
            raise RuntimeError(f"nsm registry exited: {process.stdout.read()}")
    process.kill()
    raise RuntimeError("nsm registry did not start")


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(params=["memory", "kubernetes"])
def registry(request):
    """An `nsm registry` on a free loopback port, on each store (the kubernetes one on the test
    API server, with the CRDs applied by kubectl); yields its host:port."""
    processes, directory = [], None
    extra = []
    if request.param == "kubernetes":
        directory = tempfile.mkdtemp(prefix="nsm-kube-")
        apiserver, _ = start_apiserver(directory)
        processes.append(apiserver)
        apply_crds(os.path.join(directory, "kubeconfig"))
        extra = ["--store", "kubernetes", "--kubeconfig", os.path.join(directory, "kubeconfig"), "--namespace", "nsm-system"]
    port = free_port()
    try:
        processes.append(start_registry(port, *extra))
        yield f"127.0.0.1:{port}"
    finally:
        for process in reversed(processes):
            stop(process)
        if directory:
            shutil.rmtree(directory, ignore_errors=True)


METRICS_LINE = r"metrics on http://[^:]+:(\d+)/metrics"


def metrics_port(process, seconds=20):
    """The port a component printed on its (text) stdout as "metrics on http://…:PORT/metrics"."""
    import re
    deadline = time.monotonic() + seconds
    while True:
        line = process.stdout.readline()
        assert line and time.monotonic() < deadline, "no metrics line from the process"
        match = re.search(METRICS_LINE, line)
        if match:
            return int(match.group(1))
