"""Mutual TLS as a non-Swift client sees it, against every server the mesh runs: the registry (unix
and TCP), the node's manager (unix and TCP) and forwarder, and an endpoint — each a real `nsm`
process reading its SVID from files as spiffe-helper writes them, issued by a CA this test makes
with PyPI's `cryptography`. grpcio presenting the right SVID is served; plaintext, a certificate
from another CA and a certificate from the right CA without a SPIFFE ID are each refused."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import HERE, free_port, nsm_binary
from netns import Namespace
from svid_authority import Authority

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creates a network namespace")
TRUST_DOMAIN = "mtls.test"
SERVER_NAME = "nsm.mtls.test"  # every server certificate's DNS SAN: grpcio checks a host name


def probe(namespace, target, identity):
    """Health/Check from `namespace` with grpcio; `identity` is a directory of SVID files or "plaintext"."""
    files = ["plaintext", "-", "-"] if identity == "plaintext" else [os.path.join(identity, name) for name in ("svid.pem", "svid_key.pem", "svid_bundle.pem")]
    result = subprocess.run(["ip", "netns", "exec", namespace, sys.executable, os.path.join(HERE, "tls_probe.py"), target, SERVER_NAME, *files],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def mesh():
    """registry, node (manager + forwarder) and an endpoint in one namespace, each with its own SVID files."""
    directory = tempfile.mkdtemp(prefix="nsm-mtls-")
    namespace = Namespace(f"mt{os.getpid()}")
    processes = []
    try:
        authority = Authority("mtls test CA")
        registry_port, manager_port = free_port(), free_port()
        servers = {
            "registry (unix)": f"unix://{directory}/registry.sock",
            "registry (tcp)": f"127.0.0.1:{registry_port}",
            "manager (unix)": f"unix://{directory}/node/nsm.sock",
            "manager (tcp)": f"127.0.0.1:{manager_port}",
            "forwarder (unix)": f"unix://{directory}/node/forwarder.sock",
            "endpoint (unix)": f"unix://{directory}/node/nse-mt.sock",
        }
        os.makedirs(f"{directory}/node")
        commands = {
            "registry": ["registry", "--listen-on", f"tcp://127.0.0.1:{registry_port},unix://{directory}/registry.sock"],
            "node": ["node", "--name", "nsmgr-mt", "--node-name", "mt", "--listen-on", f"unix://{directory}/node/nsm.sock,tcp://127.0.0.1:{manager_port}",
                     "--registry-url", f"tcp://127.0.0.1:{registry_port}", "--tunnel-ip", "127.0.0.1"],
            "endpoint": ["endpoint", "--name", "nse-mt", "--service-names", "svc-mt", "--cidr-prefix", "172.16.181.0/24",
                         "--connect-to", f"unix://{directory}/node/nsm.sock", "--listen-on", f"unix://{directory}/node/nse-mt.sock"],
        }
        client = authority.issue(f"{directory}/ids/client", f"spiffe://{TRUST_DOMAIN}/ns/default/pod/client", dns=[SERVER_NAME])
        deadline = time.monotonic() + 60
        for name, arguments in commands.items():
            identity = authority.issue(f"{directory}/ids/{name}", f"spiffe://{TRUST_DOMAIN}/ns/nsm-system/pod/{name}", dns=[SERVER_NAME])
            env = {key: value for key, value in os.environ.items() if key not in ("SPIFFE_ENDPOINT_SOCKET", "NSM_INSECURE")}
            env["NSM_SPIFFE_SVID_DIR"] = identity
            log = open(f"{directory}/{name}.log", "w")
            processes.append((name, subprocess.Popen(["ip", "netns", "exec", namespace.name, nsm_binary(), *arguments],
                                                     env=env, stdout=log, stderr=subprocess.STDOUT)))
            # Each serves (the right SVID gets SERVING) before the next starts: the node needs the registry, the endpoint the node.
            wanted = [target for label, target in servers.items() if label.startswith("manager" if name == "node" else name)]
            for target in wanted:
                while probe(namespace.name, target, client)["code"] != "OK":
                    assert processes[-1][1].poll() is None, f"{name} exited:\n" + open(f"{directory}/{name}.log").read()
                    assert time.monotonic() < deadline, f"{name} did not serve {target} in time:\n" + open(f"{directory}/{name}.log").read()
                    time.sleep(0.1)
        yield {"namespace": namespace.name, "servers": servers, "authority": authority, "client": client, "directory": directory}
    finally:
        for _, process in reversed(processes):
            process.terminate()
        for _, process in reversed(processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        namespace.delete()
        shutil.rmtree(directory, ignore_errors=True)


SERVERS = ["registry (unix)", "registry (tcp)", "manager (unix)", "manager (tcp)", "forwarder (unix)", "endpoint (unix)"]


@pytest.mark.parametrize("server", SERVERS)
def test_the_right_svid_is_served(mesh, server):
    outcome = probe(mesh["namespace"], mesh["servers"][server], mesh["client"])
    assert outcome == {"code": "OK", "message": "", "status": "0801"}, outcome  # SERVING


@pytest.mark.parametrize("server", SERVERS)
def test_plaintext_is_refused(mesh, server):
    outcome = probe(mesh["namespace"], mesh["servers"][server], "plaintext")
    assert outcome["code"] == "UNAVAILABLE", outcome


@pytest.mark.parametrize("server", SERVERS)
def test_a_certificate_from_another_ca_is_refused(mesh, server):
    stranger = Authority("another CA").issue(f"{mesh['directory']}/ids/stranger", f"spiffe://{TRUST_DOMAIN}/ns/default/pod/client", dns=[SERVER_NAME])
    # It trusts the servers' CA (so only the server's check of the client can refuse it).
    shutil.copy(os.path.join(mesh["client"], "svid_bundle.pem"), os.path.join(stranger, "svid_bundle.pem"))
    outcome = probe(mesh["namespace"], mesh["servers"][server], stranger)
    assert outcome["code"] == "UNAVAILABLE", outcome


@pytest.mark.parametrize("server", SERVERS)
def test_a_certificate_without_a_spiffe_id_is_refused(mesh, server):
    unnamed = mesh["authority"].issue(f"{mesh['directory']}/ids/unnamed", None, dns=("client.mtls.test",))
    outcome = probe(mesh["namespace"], mesh["servers"][server], unnamed)
    assert outcome["code"] == "UNAUTHENTICATED", outcome
    assert "SPIFFE" in outcome["message"] or "URI" in outcome["message"], outcome
