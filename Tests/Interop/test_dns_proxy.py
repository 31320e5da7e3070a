"""`nsm dns proxy` between real DNS servers (dnsmasq) and real clients (dig, dnspython), all
inside a network namespace of the test's own: first positive answer wins, scoped upstreams,
negative answers, TCP, truncation, EDNS, malformed queries, resolv.conf handling."""
import os
import signal
import socket
import subprocess
import threading
import time

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rrset
import pytest

from conftest import nsm_binary
from netns import Namespace

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creates network namespaces")

CLUSTER, SERVICE, OTHER, SLOW, PROXY = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.1"


def dnsmasq(ns, address, log, *options):
    """A dnsmasq answering from host records only; NXDOMAIN for unknown names under its --local domains."""
    argv = ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--bind-interfaces", f"--listen-address={address}",
            "--local-ttl=60", "--log-queries", f"--log-facility={log}", f"--pid-file={log}.pid", *options]
    return ns.popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class SlowServer(threading.Thread):
    """Answers every A query with 10.9.9.9 after `delay` seconds (a slow but positive upstream)."""

    def __init__(self, ns, address, delay):
        super().__init__(daemon=True)
        self.sock = ns.socket()
        self.sock.bind((address, 53))
        self.delay = delay
        self.stopped = False

    def run(self):
        while not self.stopped:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            response.answer.append(dns.rrset.from_text(query.question[0].name, 60, "IN", "A", "10.9.9.9"))
            threading.Timer(self.delay, self.sock.sendto, (response.to_wire(), peer)).start()

    def stop(self):
        self.stopped = True
        self.sock.close()


def wait_for_line(process, text, timeout=20):
    deadline = time.time() + timeout
    lines = []
    while time.time() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if text in line:
            return
        if process.poll() is not None:
            break
    raise AssertionError(f"no '{text}' from the process: {''.join(lines)}")


@pytest.fixture(scope="module")
def mesh(tmp_path_factory):
    logs = tmp_path_factory.mktemp("dns")
    ns = Namespace(f"nsmdns{os.getpid()}", [CLUSTER, SERVICE, OTHER, SLOW])
    processes = []
    slow = None
    try:
        big = [f"--host-record=big.cluster.local,10.2.0.{i}" for i in range(1, 101)]
        processes.append(dnsmasq(ns, CLUSTER, logs / "cluster.log", "--host-record=web.cluster.local,10.1.1.1",
                                 "--host-record=both.svc.nsm,10.1.1.2", "--local=/cluster.local/", "--local=/nsm/", "--local=/example/", *big))
        processes.append(dnsmasq(ns, SERVICE, logs / "service.log", "--host-record=db.svc.nsm,172.16.1.5",
                                 "--host-record=both.svc.nsm,172.16.1.6", "--local=/svc.nsm/"))
        processes.append(dnsmasq(ns, OTHER, logs / "other.log", "--host-record=api.other.nsm,172.16.2.5", "--local=/other.nsm/"))
        slow = SlowServer(ns, SLOW, 0.3)
        slow.start()
        proxy = ns.popen([nsm_binary(), "dns", "proxy", "--listen", f"{PROXY}:53", "--cluster-dns", CLUSTER,
                          "--upstream", f"{SERVICE}=svc.nsm", "--upstream", f"{OTHER}=other.nsm", "--upstream", f"{SLOW}=slow.nsm",
                          "--tcp-idle-timeout", "500ms"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        processes.append(proxy)
        wait_for_line(proxy, "dns proxy listening")
        for server, name in ((CLUSTER, "web.cluster.local"), (SERVICE, "db.svc.nsm"), (OTHER, "api.other.nsm")):
            wait_until_answers(ns, server, name)
        yield ns, logs
    finally:
        stop_all(processes)
        if slow:
            slow.stop()
        ns.delete()


def stop_all(processes):
    """SIGTERM to each, then waits (SIGKILL after 10 s)."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def dig(ns, *args):
    result = ns.run(["dig", f"@{PROXY}", "+tries=1", "+time=6", *args])
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def ask(ns, name, rdtype="A", tcp=False, **kwargs):
    query = dns.message.make_query(name, rdtype, **kwargs)
    kind = socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM
    sock = ns.socket(kind)
    try:
        if tcp:
            sock.connect((PROXY, 53))
            sock.setblocking(False)
            return dns.query.tcp(query, PROXY, timeout=8, sock=sock)
        return dns.query.udp(query, PROXY, timeout=8, sock=sock)
    finally:
        sock.close()


def addresses(response):
    return sorted(item.address for rrset in response.answer for item in rrset if hasattr(item, "address"))


def test_name_known_only_to_the_cluster_dns(mesh):
    ns, _ = mesh
    assert dig(ns, "+short", "web.cluster.local").split() == ["10.1.1.1"]


def test_name_known_only_to_a_service_dns(mesh):
    ns, _ = mesh
    response = ask(ns, "db.svc.nsm")
    assert response.rcode() == dns.rcode.NOERROR and addresses(response) == ["172.16.1.5"]


def test_name_known_to_both_gets_one_positive_answer(mesh):
    ns, _ = mesh
    assert addresses(ask(ns, "both.svc.nsm")) in (["10.1.1.2"], ["172.16.1.6"])


def test_name_known_to_none_is_nxdomain_not_servfail(mesh):
    ns, _ = mesh
    assert ask(ns, "none.svc.nsm").rcode() == dns.rcode.NXDOMAIN
    assert ask(ns, "none.example").rcode() == dns.rcode.NXDOMAIN


def test_existing_name_without_that_type_is_nodata(mesh):
    ns, _ = mesh
    response = ask(ns, "db.svc.nsm", "AAAA")
    assert response.rcode() == dns.rcode.NOERROR and response.answer == []


def test_slow_positive_beats_fast_negative(mesh):
    ns, _ = mesh
    for index in range(3):
        started = time.monotonic()
        response = ask(ns, f"host{index}.slow.nsm")
        assert response.rcode() == dns.rcode.NOERROR and addresses(response) == ["10.9.9.9"]
        # The cluster DNS said NXDOMAIN at once; the proxy waited for the slow positive one.
        assert time.monotonic() - started >= 0.25


def test_scoped_domain_is_never_sent_to_other_upstreams(mesh):
    ns, logs = mesh
    assert addresses(ask(ns, "api.other.nsm")) == ["172.16.2.5"]
    assert addresses(ask(ns, "db.svc.nsm", "A")) == ["172.16.1.5"]
    ask(ns, "web.cluster.local")
    time.sleep(0.2)  # dnsmasq writes its log asynchronously
    service_log = (logs / "service.log").read_text()
    other_log = (logs / "other.log").read_text()
    cluster_log = (logs / "cluster.log").read_text()
    assert "other.nsm" not in service_log and "cluster.local" not in service_log
    assert "svc.nsm" not in other_log and "cluster.local" not in other_log
    # The cluster DNS is asked for everything, scoped names included.
    assert "api.other.nsm" in cluster_log and "db.svc.nsm" in cluster_log


def test_tcp(mesh):
    ns, _ = mesh
    assert addresses(ask(ns, "db.svc.nsm", tcp=True)) == ["172.16.1.5"]
    assert dig(ns, "+tcp", "+short", "web.cluster.local").split() == ["10.1.1.1"]


def test_idle_tcp_connections_are_closed(mesh):
    ns, _ = mesh
    sock = ns.socket(socket.SOCK_STREAM)
    try:
        sock.connect((PROXY, 53))
        sock.settimeout(5)
        started = time.monotonic()
        assert sock.recv(1) == b""  # the proxy closed it
        assert time.monotonic() - started < 4
    finally:
        sock.close()


def test_truncation_and_retry_over_tcp(mesh):
    ns, _ = mesh
    # Without EDNS a UDP answer holds 512 bytes: the proxy sets TC, dig retries over TCP.
    truncated = dig(ns, "+noedns", "+ignore", "big.cluster.local")
    assert " tc " in truncated.split("flags:")[1].split(";")[0] + " "
    full = dig(ns, "+noedns", "big.cluster.local")
    assert "Truncated, retrying in TCP mode" in full
    assert full.count("\tA\t10.2.0.") == 100


def test_edns_buffer_sizes_are_respected(mesh):
    ns, _ = mesh
    large = ask(ns, "big.cluster.local", use_edns=0, payload=4096)
    assert not large.flags & dns.flags.TC and len(addresses(large)) == 100
    small = ask(ns, "big.cluster.local", use_edns=0, payload=512)
    assert small.flags & dns.flags.TC and addresses(small) == []
    plain = ask(ns, "web.cluster.local")
    assert plain.edns < 0, "no OPT record in the answer to a query without one"


def test_malformed_queries_get_formerr_and_the_proxy_keeps_serving(mesh):
    ns, _ = mesh
    sock = ns.socket()
    sock.settimeout(5)
    try:
        # A header that asks one question, then a compression pointer to itself.
        sock.sendto(bytes([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1]), (PROXY, 53))
        data, _ = sock.recvfrom(512)
        assert data[:2] == b"\x12\x34" and data[3] & 0x0F == dns.rcode.FORMERR
        sock.sendto(b"\x00\x01garbage", (PROXY, 53))  # too short to answer: dropped
    finally:
        sock.close()
    assert addresses(ask(ns, "db.svc.nsm")) == ["172.16.1.5"]


def test_metrics_count_queries_and_answers(mesh):
    ns, _ = mesh
    text = dig(ns, "+short", "CH", "TXT", "metrics.nsm.")
    assert "queries=" in text and "answers.NOERROR=" in text and f"upstream.{SERVICE}:53.answers=" in text


def test_resolv_conf_rewritten_kept_across_a_crash_and_restored(tmp_path):
    ns = Namespace(f"nsmrc{os.getpid()}", [CLUSTER])
    original = "nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"
    path = tmp_path / "resolv.conf"
    path.write_text(original)
    argv = [nsm_binary(), "dns", "proxy", "--listen", "127.0.0.1:53", "--upstream", f"{CLUSTER}=svc.nsm", "--resolv-conf", str(path)]
    try:
        first = ns.popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wait_for_line(first, "dns proxy listening")
        written = path.read_text()
        active = [line for line in written.splitlines() if not line.startswith("#")]
        assert active == ["nameserver 127.0.0.1", "search default.svc.cluster.local svc.cluster.local cluster.local svc.nsm", "options ndots:5"]
        first.kill()  # a crash: no restore
        first.wait()
        second = ns.popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wait_for_line(second, "dns proxy listening")
        # The restarted proxy took the original from the saved lines, not its own file.
        assert path.read_text() == written
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=10)
        assert path.read_text() == original
    finally:
        ns.delete()


class TogglingServer(threading.Thread):
    """Silent (a dead upstream) until `answering` is set; then answers every A query with 10.9.9.9 at once."""

    def __init__(self, ns, address):
        super().__init__(daemon=True)
        self.sock = ns.socket()
        self.sock.bind((address, 53))
        self.answering = threading.Event()

    def run(self):
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            if not self.answering.is_set():
                continue
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            response.answer.append(dns.rrset.from_text(query.question[0].name, 60, "IN", "A", "10.9.9.9"))
            self.sock.sendto(response.to_wire(), peer)

    def stop(self):
        self.sock.close()


def wait_until_answers(ns, server, name, deadline_seconds=10):
    """Waits (with a deadline) until `server` answers a query for `name` at all."""
    deadline = time.time() + deadline_seconds
    while time.time() < deadline:
        sock = ns.socket()
        try:
            dns.query.udp(dns.message.make_query(name, "A"), server, timeout=0.5, sock=sock)
            return
        except dns.exception.Timeout:
            continue
        finally:
            sock.close()
    raise AssertionError(f"{server} did not answer within {deadline_seconds} s")


def metric(ns, key):
    text = ns.run(["dig", f"@{PROXY}", "+short", "+tries=1", "+time=6", "CH", "TXT", "metrics.nsm."]).stdout
    values = dict(line.strip('"').split("=", 1) for line in text.split() if "=" in line)
    return values.get(key)


def test_a_silent_upstream_does_not_hold_negative_answers(tmp_path):
    """An upstream asked for every name that never answers (an endpoint advertising DNS it does not
    serve) must not hold negative answers for the whole budget (20 s here, longer than the client
    waits): the wait after the first negative is bounded, after 3 misses the upstream is down and no
    longer waited for, and it is waited for again once it answers."""
    silent_address = "127.0.0.6"
    ns = Namespace(f"nsmdq{os.getpid()}", [CLUSTER, silent_address])
    processes, silent = [], None
    try:
        processes.append(dnsmasq(ns, CLUSTER, tmp_path / "cluster.log", "--host-record=web.cluster.local,10.1.1.1",
                                 "--local=/cluster.local/", "--local=/example/"))
        silent = TogglingServer(ns, silent_address)
        silent.start()
        proxy = ns.popen([nsm_binary(), "dns", "proxy", "--listen", f"{PROXY}:53", "--cluster-dns", CLUSTER, "--upstream", silent_address,
                          "--timeout", "20s", "--negative-wait", "300ms"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        processes.append(proxy)
        wait_for_line(proxy, "dns proxy listening")
        wait_until_answers(ns, CLUSTER, "web.cluster.local")
        for i in range(4):
            response = ask(ns, f"nothing{i}.cluster.local")  # the client gives up after 8 s; the budget is 20 s
            assert response.rcode() == dns.rcode.NXDOMAIN
        assert metric(ns, f"upstream.{silent_address}:53.down") == "1"
        assert int(metric(ns, f"upstream.{silent_address}:53.timeouts")) >= 3
        # Positive answers are not held either, and the cluster's still win.
        assert addresses(ask(ns, "web.cluster.local")) == ["10.1.1.1"]
        # Back: it is still asked while down, its first answer brings it up, and from then on it is
        # waited for again: its positive beats the cluster's negative.
        silent.answering.set()
        answers = []
        for attempt in range(20):
            answers = addresses(ask(ns, f"revived{attempt}.example"))
            if answers:
                break
        assert answers == ["10.9.9.9"]
        assert metric(ns, f"upstream.{silent_address}:53.down") == "0"
    finally:
        stop_all(processes)
        if silent:
            silent.stop()
        ns.delete()
