"""The registry's CustomResourceDefinitions: valid against the official Kubernetes schemas
(kubernetes-validate --strict), usable by kubectl (against the test API server, a stand-in for
kube-apiserver), and typed so that an object written by upstream's registry-k8s keeps every field
(a real API server prunes fields a structural schema does not declare)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest
import yaml

from conftest import kubectl, start_apiserver, stop

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
CRDS = [os.path.join(ROOT, "deploy", "crds", name) for name in ("networkserviceendpoints.yaml", "networkservices.yaml")]

# An NSE as upstream's registry-k8s stores it (upstream-nsm-notes §6.4): Go encoding/json of the
# proto struct, snake_case keys, timestamps as {seconds, nanos}.
UPSTREAM_NSE = {
    "apiVersion": "networkservicemesh.io/v1", "kind": "NetworkServiceEndpoint",
    "metadata": {"name": "nse-kernel-5f7c9", "namespace": "nsm-system"},
    "spec": {
        "name": "nse-kernel-5f7c9", "network_service_names": ["kernel2ethernet2kernel"],
        "network_service_labels": {"kernel2ethernet2kernel": {"labels": {"app": "nse-kernel"}}},
        "url": "tcp://10.244.1.5:5001",
        "expiration_time": {"seconds": 1707734808, "nanos": 254775768},
        "initial_registration_time": {"seconds": 1707734748, "nanos": 1},
        "path_ids": ["spiffe://k8s.nsm/ns/ns-kernel/pod/nse-kernel-5f7c9", "spiffe://k8s.nsm/ns/nsm-system/pod/nsmgr-abcde"],
    },
}
UPSTREAM_NS = {
    "apiVersion": "networkservicemesh.io/v1", "kind": "NetworkService",
    "metadata": {"name": "my-networkservice-1", "namespace": "default"},
    "spec": {"name": "my-networkservice-1", "payload": "ETHERNET", "matches": [
        {"source_selector": {"app": "foo"}, "routes": [{"destination_selector": {"app": "foo"}, "weight": 1}], "fallthrough": True,
         "metadata": {"labels": {"p2p": "true"}}}]},
}


def schema_of(path):
    with open(path) as f:
        return yaml.safe_load(f)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def pruned(value, schema, where="$"):
    """The paths a structural schema would prune or reject in `value` (empty: it keeps it all)."""
    problems = []
    kind = schema.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{where}: not an object"]
        if schema.get("x-kubernetes-preserve-unknown-fields") or ("properties" not in schema and "additionalProperties" not in schema):
            return []
        for key, item in value.items():
            sub = schema.get("properties", {}).get(key) or schema.get("additionalProperties")
            if sub is None:
                problems.append(f"{where}.{key}: not in the schema (a real API server would drop it)")
            else:
                problems += pruned(item, sub, f"{where}.{key}")
    elif kind == "array":
        if not isinstance(value, list):
            return [f"{where}: not a list"]
        for index, item in enumerate(value):
            problems += pruned(item, schema.get("items", {}), f"{where}[{index}]")
    elif kind == "string" and not isinstance(value, str):
        problems.append(f"{where}: not a string")
    elif kind == "integer" and (not isinstance(value, int) or isinstance(value, bool)):
        problems.append(f"{where}: not an integer")
    elif kind == "boolean" and not isinstance(value, bool):
        problems.append(f"{where}: not a boolean")
    return problems


def test_crds_pass_the_official_schemas():
    validate = os.path.join(os.path.dirname(sys.executable), "kubernetes-validate")
    result = subprocess.run([validate, "--strict", "-k", "1.32.0", *CRDS], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed") == 2, result.stdout


def test_upstream_objects_keep_every_field():
    assert pruned(UPSTREAM_NSE, schema_of(CRDS[0])) == []
    assert pruned(UPSTREAM_NS, schema_of(CRDS[1])) == []
    # And the check can fail: a field the schema does not declare is caught.
    bad = json.loads(json.dumps(UPSTREAM_NSE))
    bad["spec"]["unknown_field"] = 1
    bad["spec"]["url"] = 5
    assert sorted(pruned(bad, schema_of(CRDS[0]))) == [
        "$.spec.unknown_field: not in the schema (a real API server would drop it)", "$.spec.url: not a string"]


@pytest.fixture()
def apiserver():
    """The test API server, with a kubeconfig for kubectl."""
    directory = tempfile.mkdtemp(prefix="nsm-kube-")
    process, _ = start_apiserver(directory)
    try:
        yield os.path.join(directory, "kubeconfig")
    finally:
        stop(process)
        shutil.rmtree(directory, ignore_errors=True)


def test_kubectl_applies_the_crds_and_upstream_shaped_objects(apiserver):
    # The test server has no OpenAPI documents, so kubectl's client-side validation is off.
    for crd in CRDS:
        kubectl(apiserver, "apply", "--validate=false", "-f", crd)
    kubectl(apiserver, "apply", "--validate=false", "-f", "-", stdin=json.dumps(UPSTREAM_NSE))
    kubectl(apiserver, "apply", "--validate=false", "-f", "-", stdin=json.dumps(UPSTREAM_NS))
    table = kubectl(apiserver, "get", "nses", "-A")
    header, row = table.splitlines()[0].split(), table.splitlines()[1]
    assert header[:5] == ["NAMESPACE", "NAME", "SERVICES", "URL", "EXPIRES"], table
    assert "nse-kernel-5f7c9" in row and "tcp://10.244.1.5:5001" in row and "1707734808" in row, table
    assert "my-networkservice-1" in kubectl(apiserver, "get", "netsvc", "-A")
    stored = json.loads(kubectl(apiserver, "get", "nse", "-n", "nsm-system", "nse-kernel-5f7c9", "-o", "json"))
    assert stored["spec"] == UPSTREAM_NSE["spec"]
