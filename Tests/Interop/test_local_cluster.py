"""`nsm cluster up|endpoint|down` and `nsm run` as a user drives them: real processes and
namespaces, the spec's annotation forms, label steering, excluded prefixes, no leftovers."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import nsm_binary

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creates network namespaces")
NAME = f"it{os.getpid()}"


AGENT = {"SPIFFE_ENDPOINT_SOCKET": f"unix:///run/nsm-{NAME}/spiffe-agent.sock"}  # the cluster's identities


def nsm(*args, check=True, timeout=120, env=None):
    result = subprocess.run([nsm_binary(), *args], capture_output=True, text=True, timeout=timeout,
                            env=None if env is None else {**os.environ, **env})
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def register_matches():
    """Label steering is the NetworkService's job: app=foo → endpoints labelled app=foo, app=bar → app=bar, others → app=foo."""
    nsm("service", "register", "--cluster", NAME, "--name", "my-networkservice-1",
        "--match", "app=foo -> app=foo", "--match", "app=bar -> app=bar", "--match", "* -> app=foo")


@pytest.fixture(scope="module")
def cluster():
    nsm("cluster", "up", "--cluster", NAME)
    try:
        nsm("cluster", "endpoint", "--cluster", NAME, "--endpoint-name", "nse-foo", "--node", "0",
            "--service-names", "my-networkservice-1", "--labels", "app=foo", "--cidr-prefix", "172.16.61.0/24",
            "--dns-zone", "foo.nsm", "--dns-records", "db=172.16.99.1,endpoint=self")
        nsm("cluster", "endpoint", "--cluster", NAME, "--endpoint-name", "nse-bar", "--node", "1",
            "--service-names", "my-networkservice-1", "--labels", "app=bar", "--cidr-prefix", "172.16.62.0/24",
            "--dns-zone", "bar.nsm", "--dns-records", "db=172.16.99.2")
        # A pool that contains the cluster's service prefix (10.96.0.0/12): that part is never handed out.
        nsm("cluster", "endpoint", "--cluster", NAME, "--endpoint-name", "nse-excl", "--node", "1",
            "--service-names", "svc-excluded", "--cidr-prefix", "10.96.0.0/11")
        register_matches()
        yield NAME
    finally:
        nsm("cluster", "down", "--cluster", NAME, check=False)


def run_in_pod(annotation, script):
    return nsm("run", "--cluster", NAME, "--annotation", annotation, "--", "sh", "-c", script, check=False)


def addresses(output):
    return {line.split()[0]: line.split()[2:] for line in output.splitlines() if line.startswith(("nsm-", "my-"))}


@pytest.mark.parametrize("annotation, interface", [
    ("kernel://my-networkservice-1", None),
    ("kernel://my-networkservice-1/nsm-1", "nsm-1"),
    ("kernel://my-networkservice-1/nsm-1?app=foo&version=v1.1", "nsm-1"),
])
def test_spec_examples_get_an_interface_and_reach_the_endpoint(cluster, annotation, interface):
    result = run_in_pod(annotation, "ip -br -4 addr show | grep -v '^lo'; ip -4 route show")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if not line.startswith(("lo", "eth0"))]
    name = lines[0].split()[0].split("@")[0]
    if interface:
        assert name == interface
    else:
        assert name.startswith("my-networ") and len(name) == 15
    assert "/32" in lines[0]


def test_labels_steer_and_two_services_do_not_overlap(cluster):
    script = "ip -br -4 addr show; ping -c 1 -W 2 -I nsm-1 172.16.61.0 >/dev/null && ping -c 1 -W 2 -I nsm-2 172.16.62.0 >/dev/null && echo PINGS-OK"
    result = run_in_pod("kernel://my-networkservice-1/nsm-1?app=foo, kernel://my-networkservice-1/nsm-2?app=bar", script)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PINGS-OK" in result.stdout
    table = result.stderr
    rows = {line.split()[2]: line.split()[4] for line in table.splitlines() if line.startswith("pod-")}
    assert rows == {"nsm-1": "nse-foo", "nsm-2": "nse-bar"}, table
    assert "nsm-1" in result.stdout and "172.16.61.1/32" in result.stdout and "172.16.62.1/32" in result.stdout


def test_excluded_prefixes_are_never_handed_out(cluster):
    result = run_in_pod("kernel://svc-excluded/nsm-1", "ip -br -4 addr show nsm-1")
    assert result.returncode == 0, result.stderr
    assert "10.112.0.1/32" in result.stdout, result.stdout


def test_dns_in_the_pod_resolves_cluster_and_connected_service_names(cluster):
    script = ("grep -v '^#' /etc/resolv.conf; for n in db.foo.nsm db.bar.nsm endpoint.foo.nsm registry.nsm-system.svc.cluster.local "
              "kubernetes.default; do getent hosts $n || echo \"$n UNRESOLVED\"; done")
    both = run_in_pod("kernel://my-networkservice-1/nsm-1?app=foo, kernel://my-networkservice-1/nsm-2?app=bar", script)
    assert both.returncode == 0, both.stdout + both.stderr
    lines = both.stdout.splitlines()
    assert "nameserver 127.0.0.1" in lines
    assert "search default.svc.cluster.local svc.cluster.local cluster.local foo.nsm bar.nsm" in lines
    assert "172.16.99.1     db.foo.nsm" in lines and "172.16.99.2     db.bar.nsm" in lines
    assert "172.16.61.0     endpoint.foo.nsm" in lines
    assert any(line.startswith("192.168.240.254 registry.nsm-system.svc.cluster.local") for line in lines)
    assert any(line.startswith("10.96.0.1 ") for line in lines), both.stdout
    # Connected to foo only: bar's names are not resolvable (its DNS is not the pod's).
    foo = run_in_pod("kernel://my-networkservice-1/nsm-1?app=foo", "getent hosts db.bar.nsm || echo UNRESOLVED; getent hosts db.foo.nsm")
    assert "UNRESOLVED" in foo.stdout and "172.16.99.1" in foo.stdout, foo.stdout + foo.stderr
    assert not [name for name in os.listdir("/etc/netns") if name.startswith(f"nsm-{NAME}-")] if os.path.isdir("/etc/netns") else True


def test_command_status_and_cleanup(cluster):
    assert run_in_pod("kernel://my-networkservice-1/nsm-1?app=bar", "exit 7").returncode == 7
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert [line for line in namespaces.splitlines() if f"nsm-{NAME}-pod" in line] == []


def test_down_leaves_nothing():
    nsm("cluster", "up", "--cluster", NAME + "d")
    nsm("cluster", "down", "--cluster", NAME + "d")
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"nsm-{NAME}d-" not in namespaces
    assert not os.path.exists(f"/run/nsm-{NAME}d")


def test_endpoints_added_side_by_side_are_all_recorded_and_stopped():
    """Two `nsm cluster endpoint` at once: both land in cluster.json, and `down` stops both."""
    name = f"par{os.getpid()}"
    nsm("cluster", "up", "--name", name)
    try:
        starts = [subprocess.Popen([nsm_binary(), "cluster", "endpoint", "--name", name, "--endpoint-name", f"nse-p{i}", "--node", "1",
                                    "--services", f"svc-p{i}", "--cidr", f"172.16.{70 + i}.0/24"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i in range(3)]
        for start in starts:
            output, _ = start.communicate(timeout=60)
            assert start.returncode == 0, output
        with open(f"/run/nsm-{name}/cluster.json") as f:
            pids = json.load(f)["pids"]
        assert {f"nse-p{i}" for i in range(3)} <= set(pids), pids
        endpoint_pids = [pids[f"nse-p{i}"] for i in range(3)]
    finally:
        nsm("cluster", "down", "--name", name, check=False)
    for pid in endpoint_pids:
        assert not os.path.exists(f"/proc/{pid}") or "zombie" in open(f"/proc/{pid}/status").read().lower(), f"endpoint pid {pid} survived cluster down"


def leftovers(prefix):
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in namespaces.splitlines() if line.startswith(prefix)]


def test_run_passes_sigterm_to_the_command_and_removes_everything(cluster):
    """SIGTERM to nsm run reaches the command (started with nothing blocked), and the pod, its
    interfaces and the manager's connections are gone when nsm run exits with 128+15."""
    pod = f"sig{os.getpid()}"
    marker = f"/tmp/nsm-sig-{os.getpid()}"
    script = f"grep SigBlk /proc/self/status > {marker}; exec sleep 60"
    run = subprocess.Popen([nsm_binary(), "run", "--cluster", NAME, "--pod-name", pod, "--annotation", "kernel://my-networkservice-1/nsm-1",
                            "--", "sh", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not (os.path.exists(marker) and open(marker).read().strip()):
            assert run.poll() is None, run.communicate()
            time.sleep(0.05)
        assert open(marker).read().split() == ["SigBlk:", "0000000000000000"]
        run.send_signal(signal.SIGTERM)
        _, err = run.communicate(timeout=30)
        assert run.returncode == 128 + signal.SIGTERM, err
    finally:
        if run.poll() is None:
            run.kill()
        if os.path.exists(marker):
            os.remove(marker)
    assert leftovers(f"nsm-{NAME}-{pod}") == []
    connections = nsm("connections", "--connect-to", f"unix:///run/nsm-{NAME}/node0/nsm.io.sock", "--json", env=AGENT)
    assert pod not in connections.stdout


def test_run_says_why_it_fails_without_usage_text(cluster):
    result = nsm("run", "--cluster", NAME, "--timeout", "3", "--annotation", "kernel://svc-nobody-registered", "--", "true", check=False)
    assert result.returncode == 1
    assert 'svc-nobody-registered: request failed: notFound: network service "svc-nobody-registered" is not registered' in result.stderr
    assert "Usage" not in result.stderr
    missing = nsm("run", "--cluster", NAME, "--node", "7", "--annotation", "kernel://my-networkservice-1", "--", "true", check=False)
    assert missing.returncode == 1 and "node 7 does not exist: cluster" in missing.stderr and "Usage" not in missing.stderr


def test_labels_without_matches_are_reported(cluster):
    nsm("cluster", "endpoint", "--cluster", NAME, "--endpoint-name", "nse-plain", "--node", "0",
        "--service-names", "svc-plain", "--labels", "app=c", "--cidr-prefix", "172.16.63.0/24")
    try:
        result = run_in_pod("kernel://svc-plain/nsm-1?app=a", "true")
        assert result.returncode == 0, result.stderr
        assert "svc-plain: the labels {app=a} chose nothing: the service has no matches" in result.stderr
    finally:
        nsm("cluster", "stop-endpoint", "--cluster", NAME, "--endpoint-name", "nse-plain")


def test_cluster_refuses_bad_endpoints_before_starting_anything(cluster):
    def add(*args):
        return nsm("cluster", "endpoint", "--cluster", NAME, *args, check=False)

    cases = [
        (["--endpoint-name", "nse-foo", "--service-names", "x", "--cidr-prefix", "172.16.64.0/24"], "endpoint nse-foo already exists"),
        (["--endpoint-name", "node1", "--service-names", "x", "--cidr-prefix", "172.16.64.0/24"], "is one of the cluster's own"),
        (["--endpoint-name", "nse-n7", "--node", "7", "--service-names", "x", "--cidr-prefix", "172.16.64.0/24"], "node 7 does not exist"),
        (["--endpoint-name", "nse-in", "--service-names", "x", "--cidr-prefix", "10.244.3.0/24"], "lies inside the cluster's prefix 10.244.0.0/16"),
        (["--endpoint-name", "nse-bad", "--service-names", "x", "--cidr-prefix", "172.16.999.0/24"], "is not a CIDR"),
        (["--endpoint-name", "nse-lbl", "--service-names", "x", "--labels", "app=" + "v" * 64], "at most 63"),
    ]
    for args, message in cases:
        result = add(*args)
        assert result.returncode != 0 and message in result.stderr, (args, result.stderr)
    assert leftovers(f"nsm-{NAME}-nse-n7") + leftovers(f"nsm-{NAME}-nse-in") + leftovers(f"nsm-{NAME}-nse-bad") == []
    # An endpoint that does not come up (its address is taken) leaves no namespace, log or record behind.
    broken = add("--endpoint-name", "nse-broken", "--service-names", "x", "--cidr-prefix", "172.16.65.0/24", "--dns-zone", "a..b")
    assert broken.returncode == 1, broken.stdout
    assert leftovers(f"nsm-{NAME}-nse-broken") == [] and not os.path.exists(f"/run/nsm-{NAME}/nse-broken.log")
    status = nsm("cluster", "status", "--cluster", NAME).stdout
    assert "nse-broken" not in status and "nse-foo" in status and "app=foo -> app=foo" in status


def test_down_with_nothing_up_says_so():
    result = nsm("cluster", "down", "--cluster", f"none{os.getpid()}", check=False)
    assert result.returncode == 1 and "is not up" in result.stderr


def test_sigint_while_waiting_closes_everything(cluster):
    pod = f"int{os.getpid()}"
    run = subprocess.Popen([nsm_binary(), "run", "--cluster", NAME, "--pod-name", pod, "--annotation", "kernel://svc-never-registered",
                            "--", "true"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = run.stderr.readline()  # the request failure, printed as it happens
        assert "svc-never-registered: request failed" in line, line
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=30)
        assert run.returncode == 128 + signal.SIGINT, err
        assert "interrupted by signal 2" in err
    finally:
        if run.poll() is None:
            run.kill()
    assert leftovers(f"nsm-{NAME}-{pod}") == []


@pytest.mark.parametrize("variable, value, message", [
    ("NSM_REQUEST_TIMEOUT", "abc", 'NSM_REQUEST_TIMEOUT: duration "abc" is not like 30s'),
    ("NSM_LOCAL_DNS_SERVER_ENABLED", "maybe", 'NSM_LOCAL_DNS_SERVER_ENABLED="maybe" is not a boolean; accepted: true, false'),
])
def test_bad_environment_values_are_refused_by_name(tmp_path, variable, value, message):
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 10.96.0.10\n")
    env = dict(os.environ, **{variable: value})
    result = subprocess.run([nsm_binary(), "client", "--network-services", "kernel://svc", "--connect-to", f"unix://{tmp_path}/none.sock",
                             "--resolv-conf", str(resolv)], capture_output=True, text=True, timeout=30, env=env)
    assert result.returncode != 0 and message in result.stderr, result.stderr
    assert resolv.read_text() == "nameserver 10.96.0.10\n"


@pytest.mark.parametrize("zone", ["bad zone!", "a..b", "-x.nsm", "svc_b.nsm"])
def test_endpoint_refuses_a_zone_that_is_not_a_host_name(zone):
    """The zone becomes a search domain in the pods' resolv.conf, where a space would split it in two."""
    result = subprocess.run([nsm_binary(), "endpoint", "--name", "nse-z", "--service-names", "svc-z", "--cidr-prefix", "172.16.66.0/24",
                             "--connect-to", "unix:///nonexistent/nsm.sock", f"--dns-zone={zone}"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 64 and "is not a host name; accepted: labels of 1-63 letters" in result.stderr, result.stderr


def links(namespace):
    """{name: (ifindex, sorted addresses)} of a namespace's interfaces other than lo."""
    out = json.loads(subprocess.run(["ip", "-j", "-n", namespace, "addr", "show"], capture_output=True, text=True, check=True).stdout)
    return {entry["ifname"]: (entry["ifindex"], sorted(f'{a["local"]}/{a["prefixlen"]}' for a in entry.get("addr_info", []) if a.get("scope") != "link"))
            for entry in out if entry["ifname"] != "lo"}


def read_until(process, wanted, seconds):
    """Reads the process's stdout (unbuffered) until a line satisfies `wanted` (True) or the
    deadline or end of output comes (False)."""
    import select
    deadline = time.monotonic() + seconds
    pending = b""
    fd = process.stdout.fileno()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return False
        chunk = os.read(fd, 65536)
        if not chunk:
            return False
        pending += chunk
        *lines, pending = pending.split(b"\n")
        if any(wanted(line.decode(errors="replace")) for line in lines):
            return True
    return False


def test_injected_init_container_then_sidecar_take_over_without_replumbing(cluster, tmp_path):
    """The webhook's two containers as the kubelet runs them, with the env the patch gives them:
    `nsm client --init` leaves the interfaces up and exits 0; the sidecar with the same NSM_NAME
    takes the connections over (same interfaces, same ifindex, same addresses, none added), and
    again after it crashes and restarts; a clean stop of the sidecar closes them and restores
    resolv.conf."""
    from netns import Namespace
    resolv = tmp_path / "resolv.conf"
    original = "nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"
    resolv.write_text(original)
    # The containers as the webhook injects them (a real `nsm webhook` asked), downward API values
    # filled in; only where the volumes are differs: this cluster's manager socket, a temporary
    # file for the shared emptyDir.
    from webhook_support import injected_containers
    (init_args, init_env), (sidecar_args, sidecar_env) = injected_containers(
        "kernel://my-networkservice-1/nsm-1?app=foo, kernel://my-networkservice-1", {"metadata.name": "my-app", "spec.nodeName": "node0"})
    assert init_args == ["client", "--init"] and sidecar_args == ["client"]
    assert init_env == sidecar_env and init_env["NSM_NAME"].startswith("my-app-")
    volumes = {"NSM_CONNECT_TO": f"unix:///run/nsm-{NAME}/node0/nsm.io.sock", "NSM_CLIENT_STATE_FILE": str(tmp_path / "connections"), **AGENT}
    env = {**os.environ, **init_env, **volumes}
    sidecar = None
    pod = Namespace(f"{NAME}-handover")
    try:
        init = pod.run([nsm_binary(), *init_args, "--termination-log", str(tmp_path / "termination-log")], env=env, timeout=120)
        assert init.returncode == 0, init.stdout + init.stderr
        before = links(pod.name)
        assert len(before) == 2 and "nsm-1" in before, before
        assert all(addresses for _, addresses in before.values()), before
        sidecar = pod.popen([nsm_binary(), *sidecar_args, "--resolv-conf", str(resolv)], env={**os.environ, **sidecar_env, **volumes},
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        # The sidecar prints its connections once every service is connected.
        assert read_until(sidecar, lambda line: "my-networkservice-1" in line, seconds=60), "the sidecar never reported its connections"
        assert links(pod.name) == before, "the sidecar took the connections over as they were"
        edited = resolv.read_text()
        assert edited.startswith("# Written by the nsm DNS proxy")
        # The sidecar crashes and the kubelet starts it again: it adopts its own connections and
        # recognises its own resolv.conf edit (nothing nested, the cluster's servers kept).
        sidecar.kill()
        sidecar.wait(timeout=10)
        sidecar = pod.popen([nsm_binary(), *sidecar_args, "--resolv-conf", str(resolv)], env={**os.environ, **sidecar_env, **volumes},
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert read_until(sidecar, lambda line: "my-networkservice-1" in line, seconds=60), "the restarted sidecar never reported its connections"
        assert links(pod.name) == before, "the restarted sidecar kept the same interfaces"
        assert resolv.read_text() == edited
        sidecar.send_signal(signal.SIGTERM)
        assert sidecar.wait(timeout=30) == 0
        sidecar = None
        deadline = time.monotonic() + 15
        while links(pod.name):
            assert time.monotonic() < deadline, f"interfaces left after the sidecar stopped: {links(pod.name)}"
            time.sleep(0.05)
        assert resolv.read_text() == original
    finally:
        if sidecar is not None:
            sidecar.kill()
        pod.delete()


def test_init_container_gives_up_in_bounded_time_and_says_why(cluster, tmp_path):
    from netns import Namespace
    pod = Namespace(f"{NAME}-initfail")
    log = tmp_path / "termination-log"
    env = {**os.environ, **AGENT, "NSM_CONNECT_TO": f"unix:///run/nsm-{NAME}/node0/nsm.io.sock", "NSM_NAME": "lonely-1",
           "NSM_NETWORK_SERVICES": "kernel://my-networkservice-1/nsm-1, kernel://no-such-service/nsm-2", "NSM_REQUEST_TIMEOUT": "1s"}
    try:
        init = pod.run([nsm_binary(), "client", "--init", "--termination-log", str(log)], env=env, timeout=60)
        assert init.returncode == 1, init.stdout + init.stderr
        message = log.read_text()
        assert "gave up after 4 s" in message and "no-such-service (item 2)" in message, message
        assert "my-networkservice-1" not in message, "only the failing service is named"
        bad = pod.run([nsm_binary(), "client", "--init", "--termination-log", str(log)], env={**env, "NSM_NETWORK_SERVICES": "kernel://a b"}, timeout=60)
        assert bad.returncode != 0 and "item 1" in log.read_text()
    finally:
        pod.delete()



def test_connections_watch_follows_changes(cluster):
    """`nsm connections --watch` on node 0: the table, then an UPDATE line when a pod connects and
    a DELETE line when it goes."""
    import select
    watcher = subprocess.Popen([nsm_binary(), "connections", "--cluster", NAME, "--node", "0", "--watch"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    lines, pending = [], b""
    try:
        def read_until(wanted, seconds=30):
            nonlocal pending
            deadline = time.monotonic() + seconds
            seen = []
            while True:
                while lines:
                    line = lines.pop(0)
                    seen.append(line)
                    if wanted(line):
                        return line
                ready, _, _ = select.select([watcher.stdout], [], [], max(0.0, deadline - time.monotonic()))
                chunk = os.read(watcher.stdout.fileno(), 65536) if ready else b""
                if not chunk:
                    raise AssertionError(f"not seen in {seconds} s; got {seen}; exit {watcher.poll()}")
                *complete, pending = (pending + chunk).split(b"\n")
                lines.extend(line.decode() for line in complete)
        read_until(lambda line: line.startswith("POD"))
        result = run_in_pod("kernel://my-networkservice-1/nsm-1?app=foo", "true")
        assert result.returncode == 0, result.stdout + result.stderr
        update = read_until(lambda line: " UPDATE " in line and " my-networkservice-1 nsm-1 " in line)
        assert "→ nse-foo 172.16.61." in update and update.rstrip().endswith("up"), update
        read_until(lambda line: " DELETE " in line and " my-networkservice-1 nsm-1 " in line)
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)
