"""Helpers for the admission webhook tests: start `nsm webhook` on the test API server, build
AdmissionReviews from the official Kubernetes models, call the webhook over HTTPS."""
import base64
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

import jsonpatch
import yaml
from kubernetes import client as k8s

from conftest import kubectl, nsm_binary

ANNOTATION = "networkservicemesh.io"
IMAGE = "registry.example/nsm:1.0"
SERIALIZER = k8s.ApiClient()
KINDS = {  # kind -> (group, version, plural)
    "Pod": ("", "v1", "pods"), "Namespace": ("", "v1", "namespaces"),
    "Deployment": ("apps", "v1", "deployments"), "DaemonSet": ("apps", "v1", "daemonsets"),
    "StatefulSet": ("apps", "v1", "statefulsets"), "ReplicaSet": ("apps", "v1", "replicasets"),
    "Job": ("batch", "v1", "jobs"), "CronJob": ("batch", "v1", "cronjobs"),
}
WEBHOOK_ENV = {"NSM_CONTAINER_IMAGES": IMAGE, "NSM_INIT_CONTAINER_IMAGES": IMAGE, "NSM_LABELS": "spiffe.io/spiffe-id:true",
               "NSM_ENVS": "NSM_LOG_LEVEL=DEBUG"}


def start_webhook(kubeconfig, port, *extra, env=None):
    """`nsm webhook` on 127.0.0.1:`port` registered with a URL the test API server can call;
    returned once it serves (and has registered)."""
    process = subprocess.Popen(
        [nsm_binary(), "webhook", "--listen", f"127.0.0.1:{port}", "--kubeconfig", kubeconfig, "--namespace", "nsm-system",
         "--webhook-url", f"https://127.0.0.1:{port}", *extra],
        env={**os.environ, **WEBHOOK_ENV, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    output = []
    while time.time() < deadline:
        line = process.stdout.readline()
        output.append(line)
        if "webhook listening on" in line:
            process.startup_output = "".join(output)
            return process
        if not line and process.poll() is not None:
            break
    process.kill()
    raise RuntimeError("nsm webhook did not start: " + "".join(output) + process.stdout.read())


def registered_ca(kubeconfig, kind="mutatingwebhookconfiguration"):
    encoded = kubectl(kubeconfig, "get", kind, "nsm-admission-webhook", "-o", "jsonpath={.webhooks[0].clientConfig.caBundle}")
    return base64.b64decode(encoded).decode()


def container(name="app"):
    return k8s.V1Container(name=name, image="busybox:1.36", command=["sleep", "3600"])


def pod_spec(restart=None):
    return k8s.V1PodSpec(containers=[container()], restart_policy=restart)


def meta(name, annotation=None, generate=False, labels=None, annotations=None):
    values = dict(annotations or {})
    if annotation is not None:
        values[ANNOTATION] = annotation
    return k8s.V1ObjectMeta(name=None if generate else name, generate_name=f"{name}-" if generate else None,
                            annotations=values or None, labels=labels)


def pod(name="my-app", annotation=None, generate=False):
    return k8s.V1Pod(api_version="v1", kind="Pod", metadata=meta(name, annotation, generate, {"app": name}), spec=pod_spec())


def workload(kind, name="my-app", annotation=None, top_annotation=None, owners=None):
    template = k8s.V1PodTemplateSpec(metadata=meta(None, annotation, labels={"app": name}),
                                     spec=pod_spec("OnFailure" if kind in ("Job", "CronJob") else None))
    selector = k8s.V1LabelSelector(match_labels={"app": name})
    top = meta(name, top_annotation)
    top.owner_references = owners
    group, version, _ = KINDS[kind]
    api_version = f"{group}/{version}"
    if kind == "Deployment":
        return k8s.V1Deployment(api_version=api_version, kind=kind, metadata=top, spec=k8s.V1DeploymentSpec(selector=selector, template=template))
    if kind == "DaemonSet":
        return k8s.V1DaemonSet(api_version=api_version, kind=kind, metadata=top, spec=k8s.V1DaemonSetSpec(selector=selector, template=template))
    if kind == "StatefulSet":
        return k8s.V1StatefulSet(api_version=api_version, kind=kind, metadata=top,
                                 spec=k8s.V1StatefulSetSpec(selector=selector, template=template, service_name=name))
    if kind == "ReplicaSet":
        return k8s.V1ReplicaSet(api_version=api_version, kind=kind, metadata=top, spec=k8s.V1ReplicaSetSpec(selector=selector, template=template))
    if kind == "Job":
        return k8s.V1Job(api_version=api_version, kind=kind, metadata=top, spec=k8s.V1JobSpec(template=template))
    if kind == "CronJob":
        return k8s.V1CronJob(api_version=api_version, kind=kind, metadata=top, spec=k8s.V1CronJobSpec(
            schedule="*/5 * * * *", job_template=k8s.V1JobTemplateSpec(spec=k8s.V1JobSpec(template=template))))
    raise ValueError(kind)


def review(url, ca, obj, operation="CREATE", namespace="default", old=None, path="/mutate"):
    """POSTs an AdmissionReview for `obj` (a model or a dict) and returns (response, request object as a dict)."""
    body = obj if isinstance(obj, dict) else SERIALIZER.sanitize_for_serialization(obj)
    kind = body["kind"]
    group, version, plural = KINDS[kind]
    request = {"uid": str(uuid.uuid4()), "kind": {"group": group, "version": version, "kind": kind},
               "resource": {"group": group, "version": version, "resource": plural}, "operation": operation,
               "name": (body.get("metadata") or {}).get("name", ""), "userInfo": {"username": "tester"}, "object": body,
               "oldObject": None if old is None else (old if isinstance(old, dict) else SERIALIZER.sanitize_for_serialization(old)),
               "dryRun": False}
    if kind != "Namespace":
        request["namespace"] = namespace
    data = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}).encode()
    context = ssl.create_default_context(cadata=ca)
    http = urllib.request.Request(url + path + "?timeout=10s", data=data, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(http, timeout=10, context=context) as answer:
        assert answer.status == 200
        reply = json.loads(answer.read())
    assert reply["apiVersion"] == "admission.k8s.io/v1" and reply["kind"] == "AdmissionReview"
    assert reply["response"]["uid"] == request["uid"]
    return reply["response"], body


def patched(response, body):
    """The object with the response's JSON Patch applied (RFC 6902, by the jsonpatch library)."""
    assert response["allowed"] is True, response
    assert response["patchType"] == "JSONPatch"
    return jsonpatch.apply_patch(body, json.loads(base64.b64decode(response["patch"])))


def validate(*objects):
    """Every object passes kubernetes-validate --strict against Kubernetes 1.32's schemas (a
    generateName turned into a name first, as the API server does before storing)."""
    objects = [json.loads(json.dumps(o)) for o in objects]
    for obj in objects:
        if not obj["metadata"].get("name"):
            obj["metadata"]["name"] = obj["metadata"]["generateName"] + "x7k2q"
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump_all(list(objects), f)
    try:
        tool = os.path.join(os.path.dirname(sys.executable), "kubernetes-validate")
        result = subprocess.run([tool, "--strict", "-k", "1.32.0", f.name], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.count("passed") == len(objects), result.stdout
    finally:
        os.unlink(f.name)


def environment(container):
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def injected_containers(annotation, downward):
    """The init container's and the sidecar's (args, env) as the webhook injects them into a pod
    with `annotation` — asked of a real `nsm webhook` on the test API server — with the downward
    API values filled in from `downward` and $(VAR) references expanded, as the kubelet does."""
    import re
    import shutil
    from conftest import free_port, start_apiserver, stop
    directory = tempfile.mkdtemp(prefix="nsm-webhook-")
    apiserver, _ = start_apiserver(directory)
    webhook = None
    try:
        kubeconfig = os.path.join(directory, "kubeconfig")
        port = free_port()
        webhook = start_webhook(kubeconfig, port)
        result = patched(*review(f"https://127.0.0.1:{port}", registered_ca(kubeconfig), pod(annotation=annotation)))
    finally:
        if webhook is not None:
            stop(webhook)
        stop(apiserver)
        shutil.rmtree(directory, ignore_errors=True)
    spec = result["spec"]
    containers = [c for c in spec["initContainers"] if c["name"] == "nsm-init"] + [c for c in spec["containers"] if c["name"] == "nsm-client"]
    resolved = []
    for c in containers:
        env = {}
        for item in c["env"]:
            if "valueFrom" in item:
                env[item["name"]] = downward[item["valueFrom"]["fieldRef"]["fieldPath"]]
            else:
                env[item["name"]] = re.sub(r"\$\(([A-Z_]+)\)", lambda m: env.get(m.group(1), m.group(0)), item["value"])
        resolved.append((c["args"], env))
    return resolved
