"""Mutual TLS as a non-Swift client sees it, against every server the mesh runs: the registry (unix
and TCP), the node's manager (unix and TCP) and forwarder, and an endpoint — each a real `nsm`
process reading its SVID from files as spiffe-helper writes them, issued by a CA this test makes
with PyPI's `cryptography`. grpcio presenting the right SVID is served; plaintext, a certificate
from another CA and a certificate from the right CA without a SPIFFE ID are each refused."""
import datetime
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

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creates a network namespace")
TRUST_DOMAIN = "mtls.test"
SERVER_NAME = "nsm.mtls.test"  # every server certificate's DNS SAN: grpcio checks a host name


class Authority:
    """A CA of one trust domain issuing X.509-SVIDs (or, for the refusals, certificates without a SPIFFE ID)."""

    def __init__(self, name):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.certificate = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(self.key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(self.key, hashes.SHA256()))

    def issue(self, directory, spiffe_id=None, dns=(SERVER_NAME,)):
        """Writes svid.pem, svid_key.pem and svid_bundle.pem (spiffe-helper's names) into `directory`."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID
        key = ec.generate_private_key(ec.SECP256R1())
        names = ([x509.UniformResourceIdentifier(spiffe_id)] if spiffe_id else []) + [x509.DNSName(name) for name in dns]
        now = datetime.datetime.now(datetime.timezone.utc)
        certificate = (
            x509.CertificateBuilder().subject_name(x509.Name([])).issuer_name(self.certificate.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=True)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256()))
        os.makedirs(directory, exist_ok=True)
        files = {
            "svid.pem": certificate.public_bytes(serialization.Encoding.PEM),
            "svid_key.pem": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
            "svid_bundle.pem": self.certificate.public_bytes(serialization.Encoding.PEM),
        }
        for name, data in files.items():
            with open(os.path.join(directory, name), "wb") as file:
                file.write(data)
        return directory


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
        client = authority.issue(f"{directory}/ids/client", f"spiffe://{TRUST_DOMAIN}/ns/default/pod/client")
        deadline = time.monotonic() + 60
        for name, arguments in commands.items():
            identity = authority.issue(f"{directory}/ids/{name}", f"spiffe://{TRUST_DOMAIN}/ns/nsm-system/pod/{name}")
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
    stranger = Authority("another CA").issue(f"{mesh['directory']}/ids/stranger", f"spiffe://{TRUST_DOMAIN}/ns/default/pod/client")
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
