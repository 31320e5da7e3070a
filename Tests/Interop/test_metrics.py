"""Prometheus metrics and HTTP health of the long-running components (issue 19), scraped with the
official Prometheus text parser (PyPI `prometheus-client`) after real Requests and Closes: a
registry, a node (manager + forwarder) and an endpoint in a namespace of their own, and a client
sidecar in a pod namespace, each with `PROMETHEUS=true` (upstream's switch) on a port of its own.
Tracing is on too (`TELEMETRY=opentelemetry`): a small OTLP receiver in each namespace collects
the spans of a Request as a collector would."""
import http.client
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import INSECURE, METRICS_LINE, free_port, metrics_port, nsm_binary, stop
from hostile_cases import healthy
from raw_h2 import RawConnection, grpc_message
from netns import Namespace
import json
import sys

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runs the mesh in network namespaces of its own")
SERVICE = "svc-mt"
# JSON logs too: the log audit below reads every component's lines.
METRICS = {"PROMETHEUS": "true", "NSM_PROMETHEUS_PORT": "0", "NSM_LOG_FORMAT": "json"}
# What a log line about one connection says (the audit's net): each must name the connection.
ABOUT_A_CONNECTION = re.compile(r"connection|request failed|close failed|heal|plumb|tunnel|data path|expired", re.IGNORECASE)


def metrics_port_in_log(log_path, process, deadline):
    """The port the component printed ("metrics on http://…:PORT/metrics")."""
    while time.monotonic() < deadline:
        match = re.search(METRICS_LINE, open(log_path).read())
        if match:
            return int(match.group(1))
        assert process.poll() is None, open(log_path).read()
        time.sleep(0.05)
    raise AssertionError(f"no metrics line in {log_path}: {open(log_path).read()}")


def get(namespace, port, path):
    """(status, body) of GET `path` on the component's metrics port, from inside `namespace`."""
    with namespace.entered():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.connect()
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        return answer.status, answer.read().decode()
    finally:
        connection.close()


def scrape(namespace, port):
    """{(sample name, frozenset of labels): value} of every sample the component exposes."""
    status, text = get(namespace, port, "/metrics")
    assert status == 200
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def otlp_receiver(namespace, spans_file, processes):
    """Starts otlp_receiver.py in `namespace`; returns the environment that points a component there."""
    receiver = namespace.popen([sys.executable, os.path.join(os.path.dirname(__file__), "otlp_receiver.py"), spans_file],
                               stdout=subprocess.PIPE)
    processes.append(receiver)
    deadline, text = time.monotonic() + 30, b""
    while not text.endswith(b"\n"):
        ready, _, _ = select.select([receiver.stdout], [], [], max(0, deadline - time.monotonic()))
        assert ready and time.monotonic() < deadline and receiver.poll() is None, "the OTLP receiver did not start"
        text += os.read(receiver.stdout.fileno(), 64)
    return {"TELEMETRY": "opentelemetry", "NSM_OPENTELEMETRY_ENDPOINT": f"127.0.0.1:{int(text)}", "OTEL_BSP_SCHEDULE_DELAY": "100",
            "NSM_TRACE_ELEMENTS": "true"}


@pytest.fixture(scope="module")
def mesh():
    directory = tempfile.mkdtemp(prefix="nsm-metrics-")
    namespace = Namespace(f"mt{os.getpid()}")
    pod = Namespace(f"mtp{os.getpid()}")
    processes, ports = [], {}
    try:
        tracing = otlp_receiver(namespace, f"{directory}/spans.jsonl", processes)
        pod_tracing = otlp_receiver(pod, f"{directory}/pod-spans.jsonl", processes)
        registry_port, manager_port = free_port(), free_port()
        manager_socket = f"{directory}/nsm.sock"
        endpoint_socket = f"{directory}/nse-mt.sock"
        commands = [
            ("registry", ["registry", "--listen-on", f"tcp://127.0.0.1:{registry_port}"], None),
            ("node", ["node", "--name", "nsmgr-mt", "--node-name", "mt", "--listen-on", f"unix://{manager_socket},tcp://127.0.0.1:{manager_port}",
                      "--registry-url", f"tcp://127.0.0.1:{registry_port}", "--tunnel-ip", "127.0.0.1"], manager_socket),
            ("endpoint", ["endpoint", "--name", "nse-mt", "--service-names", SERVICE, "--cidr-prefix", "172.16.184.0/24",
                          "--connect-to", f"unix://{manager_socket}", "--listen-on", f"unix://{endpoint_socket}"], endpoint_socket),
        ]
        deadline = time.monotonic() + 60
        for name, arguments, socket_path in commands:
            log = f"{directory}/{name}.log"
            process = namespace.popen([nsm_binary(), *arguments], env={**os.environ, **INSECURE, **METRICS, **tracing},
                                      stdout=open(log, "w"), stderr=subprocess.STDOUT)
            processes.append(process)
            ports[name] = metrics_port_in_log(log, process, deadline)
            while socket_path and not healthy(socket_path):
                assert process.poll() is None and time.monotonic() < deadline, open(log).read()
                time.sleep(0.1)
        yield {"namespace": namespace, "pod": pod, "ports": ports, "manager": manager_socket, "directory": directory, "pod_tracing": pod_tracing}
    finally:
        for process in reversed(processes):
            stop(process)
        pod.delete()
        namespace.delete()
        shutil.rmtree(directory, ignore_errors=True)


def wait_ready(namespace, port, deadline_seconds=30):
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if get(namespace, port, "/ready")[0] == 200:
            return
        time.sleep(0.05)
    raise AssertionError(f"/ready on {port} never answered 200")


def sidecar(mesh, services, name):
    """`nsm client` (the sidecar) in the pod namespace, with metrics on; returns (process, metrics port)."""
    env = {**os.environ, **INSECURE, **METRICS, **mesh["pod_tracing"], "NSM_CONNECT_TO": f"unix://{mesh['manager']}", "NSM_NAME": name,
           "NSM_NETWORK_SERVICES": services, "NSM_REQUEST_TIMEOUT": "2s"}
    log = f"{mesh['directory']}/{name}.log"
    process = mesh["pod"].popen([nsm_binary(), "client"], env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    return process, metrics_port_in_log(log, process, time.monotonic() + 30), log


def test_components_are_healthy_and_ready(mesh):
    for name, port in mesh["ports"].items():
        wait_ready(mesh["namespace"], port)
        assert get(mesh["namespace"], port, "/healthz") == (200, "ok\n"), name
        samples = scrape(mesh["namespace"], port)
        assert value(samples, "process_resident_memory_bytes") > 1 << 20, name
        assert value(samples, "process_open_fds") > 3 and value(samples, "process_threads") >= 1, name
    registry = scrape(mesh["namespace"], mesh["ports"]["registry"])
    # The endpoint and the node's forwarder registered; the manager watches.
    assert value(registry, "nsm_registry_entries", kind="network_service_endpoint") >= 2
    assert value(registry, "nsm_registry_watchers", kind="network_service_endpoint") >= 1


def test_requests_and_closes_are_counted_at_every_hop(mesh):
    namespace = mesh["namespace"]
    client, client_port, log = sidecar(mesh, f"kernel://{SERVICE}/nsm-1", "pod-mt")
    try:
        wait_ready(mesh["pod"], client_port, deadline_seconds=60)
        node = scrape(namespace, mesh["ports"]["node"])
        endpoint = scrape(namespace, mesh["ports"]["endpoint"])
        pod = scrape(mesh["pod"], client_port)
        for samples, hop in ((node, "manager"), (node, "forwarder"), (endpoint, "endpoint"), (pod, "client")):
            assert value(samples, "nsm_requests_total", hop=hop, service=SERVICE, code="OK") >= 1, (hop, samples)
            assert value(samples, "nsm_request_duration_seconds_count", hop=hop) >= 1, hop
            # Buckets resolve milliseconds, and they are cumulative.
            fine = value(samples, "nsm_request_duration_seconds_bucket", hop=hop, le="0.001")
            assert fine is not None and fine <= value(samples, "nsm_request_duration_seconds_bucket", hop=hop, le="+Inf"), hop
        assert value(node, "nsm_connections", hop="manager", service=SERVICE, mechanism="KERNEL") == 1
        assert value(endpoint, "nsm_connections", hop="endpoint", service=SERVICE, mechanism="KERNEL") == 1
        # The forwarder made the veth pair: netlink requests counted by kind, timed.
        assert value(node, "nsm_netlink_requests_total", kind="RTM_NEWLINK", result="ok") >= 1
        assert value(node, "nsm_netlink_request_duration_seconds_count", kind="RTM_NEWLINK") >= 1
        # The endpoint's pool: 256 addresses, a pair per connection.
        assert value(endpoint, "nsm_ipam_addresses", pool="172.16.184.0/24") == 256
        assert value(endpoint, "nsm_ipam_addresses_in_use", pool="172.16.184.0/24") == 2
    finally:
        client.send_signal(signal.SIGTERM)
        assert client.wait(timeout=30) == 0, open(log).read()
    node = scrape(namespace, mesh["ports"]["node"])
    endpoint = scrape(namespace, mesh["ports"]["endpoint"])
    assert value(node, "nsm_closes_total", hop="manager", service=SERVICE, code="OK") >= 1
    assert value(endpoint, "nsm_closes_total", hop="endpoint", service=SERVICE, code="OK") >= 1
    assert value(node, "nsm_connections", hop="manager", service=SERVICE, mechanism="KERNEL") == 0
    assert value(endpoint, "nsm_connections", hop="endpoint", service=SERVICE, mechanism="KERNEL") == 0
    assert value(endpoint, "nsm_ipam_addresses_in_use", pool="172.16.184.0/24") == 0


def test_a_failed_request_is_counted_with_its_code(mesh):
    namespace = mesh["namespace"]
    before = scrape(namespace, mesh["ports"]["node"])
    failed_before = sum(v for (name, labels), v in before.items()
                        if name == "nsm_requests_total" and ("service", "no-such-service") in labels and ("code", "OK") not in labels)
    client, _, log = sidecar(mesh, "kernel://no-such-service/nsm-1", "pod-missing")
    try:
        deadline = time.monotonic() + 30
        while True:
            after = scrape(namespace, mesh["ports"]["node"])
            failed = [(dict(labels), v) for (name, labels), v in after.items()
                      if name == "nsm_requests_total" and ("service", "no-such-service") in labels and ("code", "OK") not in labels]
            # The forwarder finds no endpoint (NOT_FOUND); the manager passes the same code back.
            if sum(v for _, v in failed) >= failed_before + 2 and {labels["hop"] for labels, _ in failed} == {"forwarder", "manager"}:
                break
            assert time.monotonic() < deadline, f"no failed request counted: {open(log).read()}"
            time.sleep(0.1)
        assert {(labels["hop"], labels["code"]) for labels, _ in failed} == {("forwarder", "NOT_FOUND"), ("manager", "NOT_FOUND")}, failed
    finally:
        client.kill()
        client.wait()


def test_every_log_line_about_a_connection_names_it(mesh):
    """After the Requests, Closes and failed Requests above, every JSON line any component wrote
    about a connection carries `nsm.connection.id` (so a log collector can follow one connection
    across hops)."""
    import json
    about = []
    for name in sorted(os.listdir(mesh["directory"])):
        if not name.endswith(".log"):
            continue
        for line in open(os.path.join(mesh["directory"], name)):
            if line.startswith("{"):
                entry = json.loads(line)
                if ABOUT_A_CONNECTION.search(entry["msg"]):
                    about.append((name, entry))
    unnamed = [(name, entry) for name, entry in about if not entry.get("nsm.connection.id")]
    assert not unnamed, unnamed
    # Not vacuous: the failed Requests were logged at the node, each naming its connection.
    assert any(name == "node.log" and entry["msg"] == "request failed" for name, entry in about), about


def spans(mesh):
    found = []
    for name in ("spans.jsonl", "pod-spans.jsonl"):
        path = os.path.join(mesh["directory"], name)
        if os.path.exists(path):
            found += [json.loads(line) for line in open(path)]
    return found


def test_one_request_is_one_trace_with_a_span_per_hop(mesh):
    """A sidecar's Request, collected over OTLP from every component: the client's, the manager's, the
    forwarder's and the endpoint's hop spans are one trace, each hop a descendant of the one before
    (the W3C traceparent crossed the gRPC hops), with a span per chain element inside them."""
    client, client_port, log = sidecar(mesh, f"kernel://{SERVICE}/nsm-1", "pod-tr")
    try:
        wait_ready(mesh["pod"], client_port, deadline_seconds=60)
        deadline = time.monotonic() + 30
        while True:
            found = spans(mesh)
            roots = [s for s in found if s["attributes"].get("nsm.hop") == "client" and s["attributes"].get("nsm.connection.id") == "pod-tr-0"
                     and s["name"] == "networkservice.NetworkService/Request"]
            trace = [s for s in found if roots and s["trace"] == roots[0]["trace"]]
            hops = {s["attributes"]["nsm.hop"]: s for s in trace if "nsm.hop" in s["attributes"]}
            if set(hops) == {"client", "manager", "forwarder", "endpoint"}:
                break
            assert time.monotonic() < deadline, f"hops collected: {sorted(hops)} of {len(found)} spans"
            time.sleep(0.1)
    finally:
        client.send_signal(signal.SIGTERM)
        assert client.wait(timeout=30) == 0, open(log).read()
    by_id = {s["span"]: s for s in trace}

    def ancestors(span):
        chain = []
        while span["parent"] in by_id:
            span = by_id[span["parent"]]
            chain.append(span["span"])
        return chain

    assert hops["client"]["parent"] == "" and hops["client"]["service"] == "pod-tr", hops["client"]
    for hop, before in (("manager", "client"), ("forwarder", "manager"), ("endpoint", "forwarder")):
        assert hops[before]["span"] in ancestors(hops[hop]), (hop, before, trace)
        assert [s["attributes"].get("nsm.hop") for s in trace].count(hop) == 1, (hop, trace)
    assert hops["manager"]["service"] == hops["forwarder"]["service"] == "nsmgr-mt" and hops["endpoint"]["service"] == "nse-mt"
    # The elements: each its own span inside its hop's.
    inside = {hop: {s["name"] for s in trace if span["span"] in ancestors(s)} for hop, span in hops.items()}
    assert "UpdatePathElement/Request" in inside["manager"] and "DiscoverForwarderElement/Request" in inside["manager"], inside["manager"]
    assert "PointToPointIPAM/Request" in inside["endpoint"] and "KernelMechanismElement/Request" in inside["endpoint"], inside["endpoint"]
    assert not any(s["error"] for s in trace), [s for s in trace if s["error"]]


def health(socket_path):
    """Health/Check's status over the unix socket: 1 SERVING, 2 NOT_SERVING (None if no answer)."""
    try:
        connection = RawConnection(socket_path, timeout=10)
    except OSError:
        return None
    try:
        outcome = connection.call("/grpc.health.v1.Health/Check", grpc_message(b""))
        if outcome.status != 0:
            return None
        return 2 if outcome.data == grpc_message(b"") else outcome.data[-1]  # proto3 omits 0 (UNKNOWN)
    finally:
        connection.close()


def start_endpoint(mesh, name, connect_to):
    socket_path = f"{mesh['directory']}/{name}.sock"
    log = f"{mesh['directory']}/{name}.log"
    process = mesh["namespace"].popen(
        [nsm_binary(), "endpoint", "--name", name, "--service-names", SERVICE, "--cidr-prefix", "172.16.185.0/24",
         "--connect-to", connect_to, "--listen-on", f"unix://{socket_path}"],
        env={**os.environ, **INSECURE, **METRICS}, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    return process, socket_path, metrics_port_in_log(log, process, time.monotonic() + 30), log


def test_health_is_not_serving_until_ready(mesh):
    """An endpoint whose manager is not there serves gRPC but is not ready: Health says NOT_SERVING,
    /ready 503, /healthz 200."""
    process, socket_path, port, log = start_endpoint(mesh, "nse-lonely", f"unix://{mesh['directory']}/nobody.sock")
    try:
        deadline = time.monotonic() + 30
        while health(socket_path) is None:
            assert process.poll() is None and time.monotonic() < deadline, open(log).read()
            time.sleep(0.05)
        assert health(socket_path) == 2
        assert get(mesh["namespace"], port, "/ready")[0] == 503
        assert get(mesh["namespace"], port, "/healthz")[0] == 200
    finally:
        process.kill()
        process.wait()


def test_health_watch_sees_serving_then_not_serving_on_shutdown(mesh):
    """Watch (from grpcio, which drains a stream across the server's GOAWAY) on a registered
    endpoint: SERVING; on SIGTERM, NOT_SERVING and the stream ends."""
    import grpc
    process, socket_path, port, log = start_endpoint(mesh, "nse-watched", f"unix://{mesh['manager']}")
    channel = grpc.insecure_channel(f"unix:{socket_path}")
    try:
        deadline = time.monotonic() + 30
        while health(socket_path) != 1:
            assert process.poll() is None and time.monotonic() < deadline, open(log).read()
            time.sleep(0.05)
        assert get(mesh["namespace"], port, "/ready")[0] == 200
        watch = channel.unary_stream("/grpc.health.v1.Health/Watch", request_serializer=lambda raw: raw, response_deserializer=lambda raw: raw)
        responses = watch(b"", timeout=30)
        assert next(responses) == b"\x08\x01"
        process.send_signal(signal.SIGTERM)
        assert list(responses) == [b"\x08\x02"]
        assert process.wait(timeout=20) == 0, open(log).read()
    finally:
        channel.close()
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_data_path_heal_is_counted_with_its_cause_and_duration(mesh):
    """The pod's interface deleted under a client that watches its data path: it heals, and
    counts the heal as `data_path` with its duration."""
    env_liveness = {"NSM_LIVENESS_CHECK_ENABLED": "true", "NSM_LIVENESS_CHECK_INTERVAL": "100ms", "NSM_LIVENESS_CHECK_TIMEOUT": "500ms"}
    os.environ.update(env_liveness)
    try:
        client, client_port, log = sidecar(mesh, f"kernel://{SERVICE}/nsm-9", "pod-heal")
    finally:
        for name in env_liveness:
            os.environ.pop(name)
    try:
        wait_ready(mesh["pod"], client_port, deadline_seconds=60)
        # A path that never answered is not healed for its silence: wait until this one has.
        deadline = time.monotonic() + 30
        while value(scrape(mesh["pod"], client_port), "nsm_liveness_answering_connections") != 1:
            assert client.poll() is None and time.monotonic() < deadline, open(log).read()
            time.sleep(0.05)
        mesh["pod"].ip("link", "del", "nsm-9")
        deadline = time.monotonic() + 30
        while not value(scrape(mesh["pod"], client_port), "nsm_heals_total", cause="data_path"):
            assert client.poll() is None and time.monotonic() < deadline, open(log).read()
            time.sleep(0.1)
        samples = scrape(mesh["pod"], client_port)
        assert value(samples, "nsm_heal_duration_seconds_count", cause="data_path") >= 1
        assert 0 < value(samples, "nsm_heal_duration_seconds_sum", cause="data_path") < 30
        assert subprocess.run(["ip", "-n", mesh["pod"].name, "link", "show", "nsm-9"], capture_output=True).returncode == 0
    finally:
        client.send_signal(signal.SIGTERM)
        client.wait(timeout=30)


def test_dns_proxy_metrics(tmp_path):
    """`nsm dns proxy` with metrics on, in front of a real dnsmasq: after answered queries the
    queries, answers, upstream outcomes and the latency histogram moved (and parse)."""
    import dns.message
    import dns.query
    from test_dns_proxy import dnsmasq, stop_all, wait_for_line, wait_until_answers
    upstream, proxy_address = "127.0.0.2", "127.0.0.1"
    namespace = Namespace(f"mtd{os.getpid()}", [upstream])
    processes = []
    try:
        processes.append(dnsmasq(namespace, upstream, tmp_path / "dnsmasq.log", "--host-record=web.cluster.local,10.1.1.1", "--local=/cluster.local/"))
        proxy = namespace.popen([nsm_binary(), "dns", "proxy", "--listen", f"{proxy_address}:53", "--cluster-dns", upstream],
                                env={**os.environ, **METRICS}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        processes.append(proxy)
        port = metrics_port(proxy)
        wait_for_line(proxy, "dns proxy listening")
        wait_until_answers(namespace, upstream, "web.cluster.local")
        for name in ("web.cluster.local", "web.cluster.local", "nothing.cluster.local"):
            sock = namespace.socket()
            try:
                dns.query.udp(dns.message.make_query(name, "A"), proxy_address, timeout=8, sock=sock)
            finally:
                sock.close()
        samples = scrape(namespace, port)
        key = f"{upstream}:53"
        assert value(samples, "nsm_dns_queries_total", transport="udp") >= 3
        assert value(samples, "nsm_dns_cache_hits_total") >= 1
        assert value(samples, "nsm_dns_answers_total", rcode="NOERROR") >= 2 and value(samples, "nsm_dns_answers_total", rcode="NXDOMAIN") >= 1
        assert value(samples, "nsm_dns_upstream_answers_total", upstream=key, outcome="positive") >= 1
        assert value(samples, "nsm_dns_upstream_answers_total", upstream=key, outcome="forwarded") >= 2
        assert value(samples, "nsm_dns_upstream_duration_seconds_count", upstream=key) >= 2
        assert value(samples, "nsm_dns_upstream_down", upstream=key) == 0
    finally:
        stop_all(processes)
        namespace.delete()


def test_webhook_metrics():
    """`nsm webhook` with metrics on: reviews counted by webhook, kind and result, and timed."""
    from conftest import start_apiserver
    from webhook_support import pod as pod_object, registered_ca, review, start_webhook
    directory = tempfile.mkdtemp(prefix="nsm-metrics-webhook-")
    apiserver, _ = start_apiserver(directory)
    processes = [apiserver]
    try:
        kubeconfig = os.path.join(directory, "kubeconfig")
        port = free_port()
        webhook = start_webhook(kubeconfig, port, env=METRICS)
        processes.append(webhook)
        metrics = int(re.search(METRICS_LINE, webhook.startup_output).group(1))
        ca = registered_ca(kubeconfig)
        review(f"https://127.0.0.1:{port}", ca, pod_object(annotation="kernel://svc-1"))
        review(f"https://127.0.0.1:{port}", ca, pod_object(name="plain"))
        connection = http.client.HTTPConnection("127.0.0.1", metrics, timeout=10)
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
        connection.close()
        samples = {(s.name, frozenset(s.labels.items())): s.value for f in text_string_to_metric_families(text) for s in f.samples}
        assert value(samples, "nsm_admission_reviews_total", webhook="mutate", kind="Pod", result="patched") == 1
        assert value(samples, "nsm_admission_reviews_total", webhook="mutate", kind="Pod", result="allowed") == 1
        assert value(samples, "nsm_admission_review_duration_seconds_count", webhook="mutate") == 2
    finally:
        for process in reversed(processes):
            stop(process)
        shutil.rmtree(directory, ignore_errors=True)


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def documented_metrics():
    """The metric names in docs/observability.md's table."""
    text = open(os.path.join(ROOT, "docs", "observability.md")).read()
    return set(re.findall(r"^\| `([a-z_]+)` \|", text, re.M))


def test_every_exposed_family_is_documented(mesh):
    documented = documented_metrics()
    exposed = set()
    for name, port in mesh["ports"].items():
        status, text = get(mesh["namespace"], port, "/metrics")
        exposed |= {family.name for family in text_string_to_metric_families(text)}
    # prometheus-client names counters without their _total suffix
    missing = {name for name in exposed if name not in documented and f"{name}_total" not in documented}
    assert not missing, f"exposed but not in docs/observability.md: {sorted(missing)}"


def test_the_dashboard_queries_only_metrics_that_exist():
    import json
    dashboard = json.load(open(os.path.join(ROOT, "deploy", "observability", "grafana-dashboard.json")))
    documented = documented_metrics()
    queried = set()
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            queried |= {re.sub(r"_(bucket|sum|count)$", "", name) for name in re.findall(r"\b((?:nsm|process)_[a-z_]+)", target["expr"])}
    assert queried and queried <= documented, f"queried but not exposed: {sorted(queried - documented)}"


def test_json_logs():
    """NSM_LOG_FORMAT=json: the registry's log lines are JSON objects (every library's logger too)."""
    import json
    port = free_port()
    process = subprocess.Popen([nsm_binary(), "registry", "--listen-on", f"tcp://127.0.0.1:{port}"],
                               env={**os.environ, **INSECURE, "NSM_LOG_FORMAT": "json"}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not healthy("127.0.0.1", port):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=20)
    objects = [json.loads(line) for line in errors.splitlines() if line.startswith("{")]
    assert any(o["msg"] == "listening" and o["url"] == f"tcp://127.0.0.1:{port}" and o["logger"] == "nsm.registry" for o in objects), errors
    assert all({"time", "level", "logger", "msg", "source"} <= set(o) for o in objects)
    # The one plain line: the insecure-mode warning also goes to stderr as text, for a person at a terminal.
    assert [line for line in errors.splitlines() if not line.startswith("{")] == [l for l in errors.splitlines() if l.startswith("WARNING: NSM_INSECURE")]

