"""`nsm exclude-prefixes` against the test API server (a stand-in for kube-apiserver): reads the
cluster's objects through a kubeconfig and writes the file `nsm node` reads."""
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import pytest

from conftest import metrics_port, nsm_binary, start_apiserver, stop

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


@pytest.fixture()
def apiserver():
    directory = tempfile.mkdtemp(prefix="nsm-kube-")
    process, port = start_apiserver(directory)
    try:
        yield directory, port
    finally:
        stop(process)
        shutil.rmtree(directory, ignore_errors=True)


def post(directory, port, path, body):
    context = ssl.create_default_context(cafile=os.path.join(directory, "ca.crt"))
    request = urllib.request.Request(f"https://127.0.0.1:{port}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": "Bearer test-token", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, context=context) as response:
        assert response.status == 201


def wait_for(path, condition, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                text = f.read()
            if condition(text):
                return text
        time.sleep(0.05)
    raise AssertionError(f"{path} never satisfied the condition; last: {open(path).read() if os.path.exists(path) else 'missing'}")


def test_writes_the_clusters_prefixes_and_follows_changes(apiserver):
    directory, port = apiserver
    post(directory, port, "/api/v1/nodes", {"metadata": {"name": "kind-worker"}, "spec": {"podCIDR": "10.244.1.0/24"}})
    post(directory, port, "/api/v1/namespaces/default/services", {"metadata": {"name": "kubernetes"}, "spec": {"clusterIP": "10.96.0.1"}})
    output = os.path.join(directory, "config", "excluded_prefixes.yaml")
    process = subprocess.Popen([nsm_binary(), "exclude-prefixes", "--kubeconfig", os.path.join(directory, "kubeconfig"),
                                "--output-file", output, "--excluded-prefixes", "172.30.0.0/16"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # No kubeadm configuration and no ServiceCIDR: the service range comes from the API server.
        text = wait_for(output, lambda t: "10.96.0.0/12" in t)
        assert text == "Prefixes:\n- 10.96.0.0/12\n- 10.244.1.0/24\n- 172.30.0.0/16\n", text
        post(directory, port, "/api/v1/nodes", {"metadata": {"name": "kind-worker2"}, "spec": {"podCIDR": "10.244.2.0/24"}})
        wait_for(output, lambda t: "10.244.2.0/24" in t)
        assert process.poll() is None, process.stdout.read()
    finally:
        process.terminate()
        process.wait(timeout=15)
    first_line = process.stdout.readline()
    assert "exclude-prefixes: API server https://127.0.0.1:" in first_line and "kubeconfig" in first_line, first_line


def test_config_map_output_is_a_valid_configmap(apiserver):
    """The config-map output, read back from the API server, passes the official schema."""
    directory, port = apiserver
    post(directory, port, "/api/v1/nodes", {"metadata": {"name": "kind-worker"}, "spec": {"podCIDR": "10.244.1.0/24"}})
    process = subprocess.Popen([nsm_binary(), "exclude-prefixes", "--kubeconfig", os.path.join(directory, "kubeconfig"),
                                "--output-type", "config-map", "--excluded-prefixes", "10.96.0.0/12"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    context = ssl.create_default_context(cafile=os.path.join(directory, "ca.crt"))

    def read():
        request = urllib.request.Request(f"https://127.0.0.1:{port}/api/v1/namespaces/default/configmaps/nsm-config",
                                         headers={"Authorization": "Bearer test-token"})
        try:
            with urllib.request.urlopen(request, context=context) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError:
            return None

    try:
        deadline = time.monotonic() + 20
        stored = read()
        while stored is None and time.monotonic() < deadline:
            time.sleep(0.05)
            stored = read()
        assert stored is not None, "nsm-config never appeared"
        assert stored["data"]["excluded_prefixes_output.yaml"] == "Prefixes:\n- 10.96.0.0/12\n- 10.244.1.0/24\n"
        path = os.path.join(directory, "nsm-config.json")
        with open(path, "w") as f:
            json.dump({key: stored[key] for key in ("apiVersion", "kind", "metadata", "data")}, f)
        validate = os.path.join(os.path.dirname(sys.executable), "kubernetes-validate")
        result = subprocess.run([validate, "--strict", "-k", "1.32.0", path], capture_output=True, text=True)
        assert result.returncode == 0 and "passed" in result.stdout, result.stdout + result.stderr
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_metrics_and_readiness(apiserver):
    """With PROMETHEUS=true: /ready answers 200 once the first list is written, and the list's size
    and the writes are counted (read with prometheus-client's parser)."""
    from prometheus_client.parser import text_string_to_metric_families
    directory, port = apiserver
    post(directory, port, "/api/v1/nodes", {"metadata": {"name": "kind-worker"}, "spec": {"podCIDR": "10.244.1.0/24"}})
    output = os.path.join(directory, "config", "excluded_prefixes.yaml")
    process = subprocess.Popen([nsm_binary(), "exclude-prefixes", "--kubeconfig", os.path.join(directory, "kubeconfig"),
                                "--output-file", output, "--excluded-prefixes", "172.30.0.0/16"],
                               env={**os.environ, "PROMETHEUS": "true", "NSM_PROMETHEUS_PORT": "0"},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        metrics = metrics_port(process)
        wait_for(output, lambda t: "10.244.1.0/24" in t)
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{metrics}/ready", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except urllib.error.HTTPError as error:
                assert error.code == 503
            assert time.monotonic() < deadline, "/ready never answered 200"
            time.sleep(0.05)
        # The gauge is the size of the list in the file (the list can still grow as the service
        # range is found: read both until they agree).
        deadline = time.monotonic() + 20
        while True:
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=5) as answer:
                text = answer.read().decode()
            samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in text_string_to_metric_families(text) for s in f.samples}
            with open(output) as f:
                listed = [line for line in f.read().splitlines() if line.startswith("- ")]
            if samples.get(("nsm_excluded_prefixes", ())) == len(listed):
                break
            assert time.monotonic() < deadline, (samples.get(("nsm_excluded_prefixes", ())), listed)
            time.sleep(0.05)
        assert len(listed) >= 2 and "- 172.30.0.0/16" in listed
        assert samples[("nsm_excluded_prefixes_writes_total", (("result", "ok"),))] >= 1
    finally:
        process.terminate()
        process.wait(timeout=15)
