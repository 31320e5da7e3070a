"""`nsm webhook` over real HTTPS: AdmissionReviews built from the official Kubernetes models for
every kind and case, the returned JSON Patch applied with an RFC 6902 library and the result
checked with kubernetes-validate --strict; then the test API server (a stand-in for
kube-apiserver) calls the webhook from the configurations it registered, as the API server does,
when kubectl creates pods."""
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import time
import uuid

import pytest
import yaml

from conftest import free_port, nsm_binary, start_apiserver, stop
from conftest import kubectl, kubectl_result
from cryptography.hazmat.primitives import serialization
from svid_authority import Authority
from webhook_support import (ANNOTATION, IMAGE, WEBHOOK_ENV, environment, patched, pod, registered_ca, review, start_webhook,
                             validate, workload)

SPEC = "kernel://my-networkservice-1/nsm-1?app=foo&version=v1.1, kernel://my-networkservice-2"


@pytest.fixture(scope="module")
def cluster():
    directory = tempfile.mkdtemp(prefix="nsm-webhook-")
    apiserver, _ = start_apiserver(directory)
    kubeconfig = os.path.join(directory, "kubeconfig")
    port = free_port()
    processes = [apiserver]
    try:
        processes.append(start_webhook(kubeconfig, port))
        yield {"kubeconfig": kubeconfig, "url": f"https://127.0.0.1:{port}", "ca": registered_ca(kubeconfig), "directory": directory}
    finally:
        for process in reversed(processes):
            stop(process)
        shutil.rmtree(directory, ignore_errors=True)


def namespace(cluster, annotation=None, enforce=None):
    name = f"ns-{uuid.uuid4().hex[:8]}"
    manifest = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    if annotation:
        manifest["metadata"]["annotations"] = {ANNOTATION: annotation}
    if enforce:
        manifest["metadata"]["labels"] = {"pod-security.kubernetes.io/enforce": enforce}
    kubectl(cluster["kubeconfig"], "create", "--validate=false", "-f", "-", stdin=json.dumps(manifest))
    return name


def injected(pod_spec):
    """The injected init container and sidecar of a patched pod spec."""
    inits = [c for c in pod_spec["initContainers"] if c["name"] == "nsm-init"]
    sidecars = [c for c in pod_spec["containers"] if c["name"] == "nsm-client"]
    assert len(inits) == 1 and len(sidecars) == 1, pod_spec
    return inits[0], sidecars[0]


def check_injection(pod_spec, pod_meta, services, generated):
    init, sidecar = injected(pod_spec)
    assert pod_spec["containers"][0]["name"] == "app", "the pod's own containers stay first"
    assert init["args"] == ["client", "--init"] and sidecar["args"] == ["client"]
    assert init["image"] == sidecar["image"] == IMAGE
    for c in (init, sidecar):
        env = environment(c)
        assert env["NSM_NETWORK_SERVICES"] == services, "the annotation, verbatim"
        assert env["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
        assert env["NODE_NAME"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}
        assert env["NSM_LOG_LEVEL"] == "DEBUG", "NSM_ENVS"
        names = [e["name"] for e in c["env"]]
        assert names.index("POD_NAME") < names.index("NSM_NAME"), "$(POD_NAME) must be defined before NSM_NAME uses it"
        assert c["volumeMounts"] == [{"name": "nsm-socket", "mountPath": "/var/lib/networkservicemesh", "readOnly": True},
                                     {"name": "nsm-client-state", "mountPath": "/var/run/nsm-client"},
                                     {"name": "spire-agent-socket", "mountPath": "/run/spire/sockets", "readOnly": True}]
        assert env["NSM_CLIENT_STATE_FILE"] == "/var/run/nsm-client/connections"
        assert env["SPIFFE_ENDPOINT_SOCKET"] == "unix:///run/spire/sockets/agent.sock", "the identity from SPIRE's agent"
        assert c["resources"] == {"limits": {"cpu": "200m", "memory": "80Mi"}, "requests": {"cpu": "100m", "memory": "40Mi"}}
    assert environment(init)["NSM_NAME"] == environment(sidecar)["NSM_NAME"], "the sidecar takes over the init container's connections"
    name = environment(init)["NSM_NAME"]
    assert name == "$(POD_NAME)" if generated else name.startswith("$(POD_NAME)-") and len(name) > len("$(POD_NAME)-")
    assert {"name": "nsm-socket", "hostPath": {"path": "/var/lib/networkservicemesh", "type": "Directory"}} in pod_spec["volumes"]
    assert {"name": "nsm-client-state", "emptyDir": {"medium": "Memory"}} in pod_spec["volumes"]
    assert {"name": "spire-agent-socket", "hostPath": {"path": "/run/spire/sockets", "type": "Directory"}} in pod_spec["volumes"]
    assert pod_meta["labels"]["spiffe.io/spiffe-id"] == "true"


def test_pod_with_the_annotation_gets_the_client(cluster):
    for generate in (False, True):
        response, body = review(cluster["url"], cluster["ca"], pod(annotation=SPEC, generate=generate))
        result = patched(response, body)
        check_injection(result["spec"], result["metadata"], SPEC, generated=generate)
        assert result["metadata"]["labels"]["app"] == "my-app", "existing labels kept"
        assert not response.get("warnings")
        validate(result)


def test_pod_without_the_annotation_is_left_alone(cluster):
    response, _ = review(cluster["url"], cluster["ca"], pod())
    assert response["allowed"] is True and "patch" not in response


def test_workloads_get_the_client_in_their_pod_template(cluster):
    results = []
    for kind in ("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job", "CronJob"):
        response, body = review(cluster["url"], cluster["ca"], workload(kind, annotation=SPEC))
        result = patched(response, body)
        template = result["spec"]["jobTemplate"]["spec"]["template"] if kind == "CronJob" else result["spec"]["template"]
        check_injection(template["spec"], template["metadata"], SPEC, generated=True)
        assert result["metadata"].get("labels") is None, f"{kind}: only the pod template is labelled"
        results.append(result)
    validate(*results)


def test_workload_annotation_is_used_when_the_template_has_none(cluster):
    response, body = review(cluster["url"], cluster["ca"], workload("Deployment", top_annotation=SPEC))
    result = patched(response, body)
    check_injection(result["spec"]["template"]["spec"], result["spec"]["template"]["metadata"], SPEC, generated=True)


def test_replicaset_of_a_deployment_update_and_injected_pods_are_not_patched(cluster):
    from kubernetes import client as k8s
    owner = [k8s.V1OwnerReference(api_version="apps/v1", kind="Deployment", name="my-app", uid=str(uuid.uuid4()), controller=True)]
    response, _ = review(cluster["url"], cluster["ca"], workload("ReplicaSet", annotation=SPEC, owners=owner))
    assert response["allowed"] is True and "patch" not in response, "the Deployment's template was patched already"
    response, body = review(cluster["url"], cluster["ca"], pod(annotation=SPEC), operation="UPDATE", old=pod(annotation=SPEC))
    assert response["allowed"] is True and "patch" not in response, "UPDATE passes through"
    first = patched(*review(cluster["url"], cluster["ca"], pod(annotation=SPEC)))
    again, _ = review(cluster["url"], cluster["ca"], first)
    assert again["allowed"] is True and "patch" not in again, "a pod made from an injected template is not injected twice"


def test_pod_inherits_its_namespaces_annotation(cluster):
    name = namespace(cluster, annotation="kernel://svc-2")
    body = pod()
    body.metadata.namespace = name

    def inherited():
        response, raw = review(cluster["url"], cluster["ca"], body, namespace=name)
        return (response, raw) if "patch" in response else None
    # The webhook learns namespaces from its watch: wait for it, with a deadline.
    deadline = time.monotonic() + 10
    while (found := inherited()) is None:
        assert time.monotonic() < deadline, "the namespace's annotation was never applied"
        time.sleep(0.05)
    result = patched(*found)
    check_injection(result["spec"], result["metadata"], "kernel://svc-2", generated=False)
    own, raw = review(cluster["url"], cluster["ca"], pod(annotation="kernel://svc-3"), namespace=name)
    assert environment(injected(patched(own, raw)["spec"])[0])["NSM_NETWORK_SERVICES"] == "kernel://svc-3", "the pod's own annotation wins"


def test_restricted_namespace_gets_the_patch_and_a_warning_that_says_why(cluster):
    name = namespace(cluster, enforce="restricted")
    deadline = time.monotonic() + 10
    while True:
        response, body = review(cluster["url"], cluster["ca"], pod(annotation=SPEC), namespace=name)
        if response.get("warnings") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert response.get("warnings"), response
    warning = response["warnings"][0]
    assert name in warning and "restricted" in warning and "hostPath" in warning and "pod-security.kubernetes.io/enforce=privileged" in warning
    patched(response, body)


def test_malformed_annotation_is_refused_with_the_parsers_message(cluster):
    bad = "kernel://svc-1/nsm-1, kernel://svc 2"
    for path in ("/mutate", "/validate"):
        response, _ = review(cluster["url"], cluster["ca"], pod(annotation=bad), path=path)
        assert response["allowed"] is False
        message = response["status"]["message"]
        assert "item 2" in message and "svc 2" in message, message
    response, _ = review(cluster["url"], cluster["ca"], workload("Deployment", annotation="memif://svc"), path="/validate")
    assert response["allowed"] is False and "pod template" in response["status"]["message"] and "memif" in response["status"]["message"]
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a", "annotations": {ANNOTATION: "svc/nsm-1"}}}
    response, _ = review(cluster["url"], cluster["ca"], ns, path="/validate")
    assert response["allowed"] is False and "namespace/team-a" in response["status"]["message"]
    # An update that leaves an old malformed value as it was is not refused; one that introduces it is.
    old = pod(annotation=bad)
    unchanged, _ = review(cluster["url"], cluster["ca"], pod(annotation=bad), operation="UPDATE", old=old, path="/validate")
    assert unchanged["allowed"] is True
    changed, _ = review(cluster["url"], cluster["ca"], pod(annotation=bad), operation="UPDATE", old=pod(annotation=SPEC), path="/validate")
    assert changed["allowed"] is False
    good, _ = review(cluster["url"], cluster["ca"], pod(annotation=SPEC), path="/validate")
    assert good["allowed"] is True


def test_registered_configurations_are_valid_and_name_this_webhook(cluster):
    objects = []
    for kind in ("mutatingwebhookconfiguration", "validatingwebhookconfiguration"):
        obj = json.loads(kubectl(cluster["kubeconfig"], "get", kind, "nsm-admission-webhook", "-o", "json"))
        for field in ("uid", "resourceVersion", "creationTimestamp"):
            obj["metadata"].pop(field, None)
        hook = obj["webhooks"][0]
        assert hook["clientConfig"]["url"].startswith(cluster["url"])
        assert hook["namespaceSelector"]["matchExpressions"][0]["values"] == ["kube-system", "nsm-system"]
        assert hook["sideEffects"] == "None" and hook["admissionReviewVersions"] == ["v1"]
        objects.append(obj)
    validate(*objects)


def test_api_server_calls_the_webhook_when_kubectl_creates_pods(cluster):
    """The stand-in API server calls the registered webhooks as kube-apiserver does."""
    name = namespace(cluster)
    manifest = yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "my-app", "namespace": name, "annotations": {ANNOTATION: SPEC}},
                               "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}]}})
    kubectl(cluster["kubeconfig"], "create", "--validate=false", "-f", "-", stdin=manifest)
    stored = json.loads(kubectl(cluster["kubeconfig"], "get", "pod", "my-app", "-n", name, "-o", "json"))
    check_injection(stored["spec"], stored["metadata"], SPEC, generated=False)
    bad = manifest.replace("kernel://my-networkservice-2", "kernel://my networkservice-2").replace("name: my-app", "name: broken")
    refused = kubectl_result(cluster["kubeconfig"], "create", "--validate=false", "-f", "-", stdin=bad)
    assert refused.returncode != 0
    assert 'admission webhook "inject.networkservicemesh.io" denied the request' in refused.stderr, refused.stderr
    assert "item 2" in refused.stderr, refused.stderr
    assert kubectl_result(cluster["kubeconfig"], "get", "pod", "broken", "-n", name).returncode != 0, "nothing half-made"
    plain = yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "plain", "namespace": name},
                            "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}]}})
    kubectl(cluster["kubeconfig"], "create", "--validate=false", "-f", "-", stdin=plain)
    stored = json.loads(kubectl(cluster["kubeconfig"], "get", "pod", "plain", "-n", name, "-o", "json"))
    assert [c["name"] for c in stored["spec"]["containers"]] == ["app"] and not stored["spec"].get("initContainers")


def test_self_registration_is_removed_on_exit():
    directory = tempfile.mkdtemp(prefix="nsm-webhook-")
    apiserver, _ = start_apiserver(directory)
    kubeconfig = os.path.join(directory, "kubeconfig")
    try:
        webhook = start_webhook(kubeconfig, free_port())
        assert kubectl_result(kubeconfig, "get", "mutatingwebhookconfiguration", "nsm-admission-webhook").returncode == 0
        webhook.terminate()
        assert webhook.wait(timeout=15) == 0
        for kind in ("mutatingwebhookconfiguration", "validatingwebhookconfiguration"):
            gone = kubectl_result(kubeconfig, "get", kind, "nsm-admission-webhook")
            assert gone.returncode != 0 and "NotFound" in gone.stderr, gone.stdout + gone.stderr
    finally:
        stop(apiserver)
        shutil.rmtree(directory, ignore_errors=True)


def make_certificate(directory, tag):
    """A CA and a serving certificate for 127.0.0.1, with openssl (not the code under test)."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)
    ca_key, ca, key, csr, crt, ext = (os.path.join(directory, f"{tag}.{x}") for x in ("ca.key", "ca.crt", "key", "csr", "crt", "ext"))
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", f"/CN={tag}-ca")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={tag}")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext)
    return ca, crt, key


def served_subject(port):
    """The CN of the certificate the server presents (verification off: only looking)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, context.wrap_socket(raw) as tls:
        der = tls.getpeercert(binary_form=True)
    text = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject"], input=der, capture_output=True, check=True).stdout.decode()
    return text.strip().split("CN")[-1].strip(" =")


def test_certificate_files_are_served_and_followed_when_they_change():
    directory = tempfile.mkdtemp(prefix="nsm-webhook-")
    apiserver, _ = start_apiserver(directory)
    kubeconfig = os.path.join(directory, "kubeconfig")
    live = os.path.join(directory, "live")
    os.makedirs(live)
    processes = [apiserver]
    try:
        paths = {name: os.path.join(live, name) for name in ("tls.crt", "tls.key", "ca.crt")}
        for source, target in zip(make_certificate(directory, "first"), (paths["ca.crt"], paths["tls.crt"], paths["tls.key"])):
            shutil.copy(source, target)
        port = free_port()
        processes.append(start_webhook(kubeconfig, port, env={"NSM_WEBHOOK_MODE": "secret", "NSM_CERT_FILE_PATH": paths["tls.crt"],
                                                               "NSM_KEY_FILE_PATH": paths["tls.key"], "NSM_CA_BUNDLE_FILE_PATH": paths["ca.crt"]}))
        assert served_subject(port) == "first"
        assert registered_ca(kubeconfig) == open(paths["ca.crt"]).read()
        response, _ = review(f"https://127.0.0.1:{port}", open(paths["ca.crt"]).read(), pod(annotation=SPEC))
        assert "patch" in response
        # Renewal as a Secret volume does it: the new files replace the old ones.
        second = make_certificate(directory, "second")
        for source, target in zip(second, (paths["ca.crt"], paths["tls.crt"], paths["tls.key"])):
            shutil.copy(source, target + ".new")
            os.replace(target + ".new", target)
        deadline = time.monotonic() + 15
        while served_subject(port) != "second" or registered_ca(kubeconfig) != open(second[0]).read():
            assert time.monotonic() < deadline, "the renewed certificate was not served or registered"
            time.sleep(0.1)
        response, _ = review(f"https://127.0.0.1:{port}", open(second[0]).read(), pod(annotation=SPEC))
        assert "patch" in response
    finally:
        for process in reversed(processes):
            stop(process)
        shutil.rmtree(directory, ignore_errors=True)


def served_certificate(port):
    """The DER of the certificate the server presents (verification off: only looking)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, context.wrap_socket(raw) as tls:
        return tls.getpeercert(binary_form=True)


def same_certificates(pem_text, certificates):
    from cryptography import x509
    return [c.public_bytes(serialization.Encoding.DER) for c in x509.load_pem_x509_certificates(pem_text.encode())] == \
        [c.public_bytes(serialization.Encoding.DER) for c in certificates]


def svid_leaf(directory):
    from cryptography import x509
    with open(os.path.join(directory, "svid.pem"), "rb") as file:
        return x509.load_pem_x509_certificates(file.read())[0].public_bytes(serialization.Encoding.DER)


def spire_environment(directory):
    return {"NSM_WEBHOOK_MODE": "spire", "NSM_SPIFFE_SVID_DIR": directory, "SPIFFE_ENDPOINT_SOCKET": ""}


def test_spire_mode_serves_the_svid_registers_its_bundle_and_follows_rotation():
    """NSM_WEBHOOK_MODE=spire with SVID files as spiffe-helper writes them (a SPIRE agent's Workload
    API gives the same): the SVID is served, the trust bundle registered as caBundle, and the API
    server's calls verify against it; a rotation to another CA is served and registered again."""
    directory = tempfile.mkdtemp(prefix="nsm-webhook-")
    apiserver, _ = start_apiserver(directory)
    kubeconfig = os.path.join(directory, "kubeconfig")
    live = os.path.join(directory, "svid")
    processes = [apiserver]
    spiffe_id = "spiffe://k8s.nsm/ns/nsm-system/pod/nsm-admission-webhook"
    try:
        first = Authority("first SPIRE CA")
        first.issue(live, spiffe_id, ips=["127.0.0.1"])
        port = free_port()
        processes.append(start_webhook(kubeconfig, port, env=spire_environment(live)))
        assert served_certificate(port) == svid_leaf(live)
        assert same_certificates(registered_ca(kubeconfig), [first.certificate])
        response, _ = review(f"https://127.0.0.1:{port}", registered_ca(kubeconfig), pod(annotation=SPEC))
        assert "patch" in response
        # The API server calls it with the registered bundle when kubectl creates a pod.
        name = namespace({"kubeconfig": kubeconfig})
        manifest = yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "my-app", "namespace": name, "annotations": {ANNOTATION: SPEC}},
                                   "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}]}})
        kubectl(kubeconfig, "create", "--validate=false", "-f", "-", stdin=manifest)
        stored = json.loads(kubectl(kubeconfig, "get", "pod", "my-app", "-n", name, "-o", "json"))
        check_injection(stored["spec"], stored["metadata"], SPEC, generated=False)
        # Rotation to a new CA, files replaced one by one as spiffe-helper does.
        second = Authority("second SPIRE CA")
        staging = second.issue(os.path.join(directory, "staging"), spiffe_id, ips=["127.0.0.1"])
        for name in ("svid_bundle.pem", "svid_key.pem", "svid.pem"):
            os.replace(os.path.join(staging, name), os.path.join(live, name))
        deadline = time.monotonic() + 15
        while served_certificate(port) != svid_leaf(live) or not same_certificates(registered_ca(kubeconfig), [second.certificate]):
            assert time.monotonic() < deadline, "the rotated SVID was not served or its bundle not registered"
            time.sleep(0.1)
        response, _ = review(f"https://127.0.0.1:{port}", registered_ca(kubeconfig), pod(annotation=SPEC))
        assert "patch" in response
    finally:
        for process in reversed(processes):
            stop(process)
        shutil.rmtree(directory, ignore_errors=True)


def test_spire_mode_refuses_an_svid_without_the_name_the_api_server_calls():
    directory = tempfile.mkdtemp(prefix="nsm-webhook-")
    try:
        Authority("SPIRE CA").issue(directory, "spiffe://k8s.nsm/ns/nsm-system/pod/nsm-admission-webhook", dns=["elsewhere.example"])
        kubeconfig = os.path.join(directory, "kubeconfig")  # never called: the SVID is refused first
        with open(kubeconfig, "w") as file:
            yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": "c",
                            "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9", "insecure-skip-tls-verify": True}}],
                            "users": [{"name": "u", "user": {"token": "t"}}], "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}, file)
        result = subprocess.run([nsm_binary(), "webhook", "--listen", f"127.0.0.1:{free_port()}", "--kubeconfig", kubeconfig,
                                 "--namespace", "nsm-system"],
                                env={**os.environ, **WEBHOOK_ENV, **spire_environment(directory), "KUBERNETES_SERVICE_HOST": ""},
                                capture_output=True, text=True, timeout=60)
        assert result.returncode != 0
        assert "carries no name the API server calls the webhook by (nsm-admission-webhook.nsm-system.svc)" in result.stderr, result.stderr
        assert "elsewhere.example" in result.stderr and "dnsNameTemplates" in result.stderr, result.stderr
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_injected_commands_and_environment_are_ones_the_client_has(cluster):
    from conftest import nsm_binary
    result = patched(*review(cluster["url"], cluster["ca"], pod(annotation=SPEC)))
    for c in injected(result["spec"]):
        text = subprocess.run([nsm_binary(), *[a for a in c["args"] if not a.startswith("-")], "--help"], capture_output=True, text=True, check=True).stdout
        for flag in (a for a in c["args"] if a.startswith("--")):
            assert flag in text
        referenced = {name for e in c["env"] for name in __import__("re").findall(r"\$\(([A-Z_]+)\)", e.get("value", ""))}
        for e in c["env"]:
            # NSM_LOG_LEVEL came from NSM_ENVS; every component reads it (ComponentLogging).
            assert e["name"] in text or e["name"] in referenced or e["name"] == "NSM_LOG_LEVEL", f'{c["name"]}: {e["name"]} is read by no one'
