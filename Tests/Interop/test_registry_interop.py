"""A gRPC client that is not ours (grpcio, stubs generated from our wire-identical .proto files)
registers endpoints and services with `nsm registry`, finds and watches them."""
import os
import subprocess
import threading
import time

import grpc
import pytest

from conftest import nsm_binary


def endpoint(stubs, name, service="icmp-responder", labels=None, url="tcp://127.0.0.1:5001"):
    nse = stubs.registry_pb2.NetworkServiceEndpoint(name=name, network_service_names=[service], url=url)
    nse.network_service_labels[service].labels.update(labels or {"app": "icmp"})
    return nse


def test_register_and_find_endpoint(stubs, registry):
    with grpc.insecure_channel(registry) as channel:
        nse_registry = stubs.registry_pb2_grpc.NetworkServiceEndpointRegistryStub(channel)
        answer = nse_registry.Register(endpoint(stubs, "nse-python"), timeout=10)
        assert answer.name == "nse-python"
        assert answer.expiration_time.seconds > time.time()
        assert answer.expiration_time.seconds <= time.time() + 61
        assert answer.initial_registration_time.seconds > 0

        query = stubs.registry_pb2.NetworkServiceEndpointQuery(
            network_service_endpoint=stubs.registry_pb2.NetworkServiceEndpoint(network_service_names=["icmp-responder"])
        )
        found = [r.network_service_endpoint for r in nse_registry.Find(query, timeout=10)]
        assert [e.name for e in found] == ["nse-python"]
        assert found[0].network_service_labels["icmp-responder"].labels["app"] == "icmp"
        assert found[0].url == "tcp://127.0.0.1:5001"

        # Query matching as upstream: url substring, labels subset, unknown service none.
        by_url = stubs.registry_pb2.NetworkServiceEndpointQuery(
            network_service_endpoint=stubs.registry_pb2.NetworkServiceEndpoint(url="127.0.0.1")
        )
        assert [r.network_service_endpoint.name for r in nse_registry.Find(by_url, timeout=10)] == ["nse-python"]
        other = stubs.registry_pb2.NetworkServiceEndpointQuery(
            network_service_endpoint=stubs.registry_pb2.NetworkServiceEndpoint(network_service_names=["other"])
        )
        assert list(nse_registry.Find(other, timeout=10)) == []

        nse_registry.Unregister(stubs.registry_pb2.NetworkServiceEndpoint(name="nse-python"), timeout=10)
        assert list(nse_registry.Find(query, timeout=10)) == []


def test_watch_sees_registrations_and_deletions(stubs, registry):
    with grpc.insecure_channel(registry) as channel:
        nse_registry = stubs.registry_pb2_grpc.NetworkServiceEndpointRegistryStub(channel)
        nse_registry.Register(endpoint(stubs, "nse-before"), timeout=10)
        query = stubs.registry_pb2.NetworkServiceEndpointQuery(
            network_service_endpoint=stubs.registry_pb2.NetworkServiceEndpoint(network_service_names=["icmp-responder"]),
            watch=True,
        )
        stream = nse_registry.Find(query, timeout=20)
        events = []

        def consume():
            for response in stream:
                events.append((response.network_service_endpoint.name, response.deleted))
                if len(events) == 3:
                    break

        thread = threading.Thread(target=consume)
        thread.start()
        time.sleep(0.3)
        nse_registry.Register(endpoint(stubs, "nse-after"), timeout=10)
        nse_registry.Unregister(stubs.registry_pb2.NetworkServiceEndpoint(name="nse-before"), timeout=10)
        thread.join(timeout=15)
        stream.cancel()
        assert events == [("nse-before", False), ("nse-after", False), ("nse-before", True)]


def test_network_service_registry(stubs, registry):
    with grpc.insecure_channel(registry) as channel:
        ns_registry = stubs.registry_pb2_grpc.NetworkServiceRegistryStub(channel)
        service = stubs.registry_pb2.NetworkService(name="my-networkservice-1")
        match = service.matches.add()
        match.source_selector["app"] = "foo"
        match.routes.add().destination_selector["app"] = "foo"
        answer = ns_registry.Register(service, timeout=10)
        assert answer.payload == "IP"  # empty payload defaults to IP, as upstream's registry
        query = stubs.registry_pb2.NetworkServiceQuery(network_service=stubs.registry_pb2.NetworkService(name="my-networkservice-1"))
        found = [r.network_service for r in ns_registry.Find(query, timeout=10)]
        assert len(found) == 1 and found[0].matches[0].routes[0].destination_selector["app"] == "foo"


def test_bad_input_gets_a_precise_error(stubs, registry):
    with grpc.insecure_channel(registry) as channel:
        nse_registry = stubs.registry_pb2_grpc.NetworkServiceEndpointRegistryStub(channel)
        with pytest.raises(grpc.RpcError) as failure:
            nse_registry.Register(stubs.registry_pb2.NetworkServiceEndpoint(name="no-url"), timeout=10)
        assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "no url" in failure.value.details()
        with pytest.raises(grpc.RpcError) as failure:
            nse_registry.Register(stubs.registry_pb2.NetworkServiceEndpoint(name="bad", url="http://x"), timeout=10)
        assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "unknown scheme" in failure.value.details()
        # Nothing half-made: neither is registered.
        query = stubs.registry_pb2.NetworkServiceEndpointQuery(network_service_endpoint=stubs.registry_pb2.NetworkServiceEndpoint())
        assert list(nse_registry.Find(query, timeout=10)) == []


def test_health_check_over_the_wire(registry):
    with grpc.insecure_channel(registry) as channel:
        check = channel.unary_unary("/grpc.health.v1.Health/Check", request_serializer=lambda b: b, response_deserializer=lambda b: b)
        assert check(b"", timeout=10) == b"\x08\x01"  # status: SERVING
        service = "registry.NetworkServiceEndpointRegistry".encode()
        assert check(b"\x0a" + bytes([len(service)]) + service, timeout=10) == b"\x08\x01"
        with pytest.raises(grpc.RpcError) as failure:
            check(b"\x0a\x03foo", timeout=10)
        assert failure.value.code() == grpc.StatusCode.NOT_FOUND


def test_log_level_is_checked_and_sigterm_stops_the_registry_promptly():
    """NSM_LOG_LEVEL takes upstream's level names; a bad one is named with what is accepted.
    SIGTERM ends the process gracefully, in well under the time a supervisor waits to kill it."""
    import signal
    import subprocess
    import time
    from conftest import INSECURE, free_port, nsm_binary

    port = free_port()
    env = dict(os.environ, NSM_LOG_LEVEL="verbose", **INSECURE)
    process = subprocess.Popen([nsm_binary(), "registry", "--listen", f"tcp://127.0.0.1:{port}"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        seen = []
        deadline = time.time() + 20
        while time.time() < deadline:
            line = process.stdout.readline()
            seen.append(line)
            if "registry listening on" in line:
                break
        assert any("NSM_LOG_LEVEL=verbose is not a level (TRACE, DEBUG, INFO, WARN, ERROR, FATAL, PANIC)" in l for l in seen), seen
        started = time.time()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        assert time.time() - started < 4.5
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_commands_reach_a_registry_by_name(registry):
    from conftest import nsm_binary
    """A URL with a host name (a Service's name in a cluster) is resolved, not taken for an address
    (the gRPC transport's IPv4 target crashed the process on one)."""
    port = registry.rsplit(":", 1)[1]
    from conftest import INSECURE
    env = {**os.environ, **INSECURE}  # the test registry is plaintext
    register = subprocess.run([nsm_binary(), "service", "register", "--connect-to", f"tcp://localhost:{port}", "--name", "by-name"],
                              capture_output=True, text=True, timeout=60, env=env)
    assert register.returncode == 0, register.stdout + register.stderr
    listing = subprocess.run([nsm_binary(), "service", "list", "--connect-to", f"tcp://localhost:{port}", "--json"],
                             capture_output=True, text=True, timeout=60, env=env)
    assert listing.returncode == 0 and "by-name" in listing.stdout, listing.stdout + listing.stderr


def test_a_registration_over_the_network_publishes_the_registrants_own_address(stubs, registry):
    """From 127.0.0.1 an endpoint may be published at 127.0.0.1 only; the refusal says how a
    registry behind source NAT turns the check off, and with it off the same call is accepted."""
    from conftest import start_registry, stop, free_port
    with grpc.insecure_channel(registry) as channel:
        stub = stubs.registry_pb2_grpc.NetworkServiceEndpointRegistryStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            stub.Register(endpoint(stubs, "nse-elsewhere", url="tcp://10.9.9.9:5001"), timeout=10)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "tcp://127.0.0.1:<port>" in refused.value.details() and "NSM_REGISTRY_CHECK_REGISTRANT_ADDRESS=false" in refused.value.details()
    port = free_port()
    os.environ["NSM_REGISTRY_CHECK_REGISTRANT_ADDRESS"] = "false"
    try:
        process = start_registry(port)
    finally:
        del os.environ["NSM_REGISTRY_CHECK_REGISTRANT_ADDRESS"]
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = stubs.registry_pb2_grpc.NetworkServiceEndpointRegistryStub(channel)
            assert stub.Register(endpoint(stubs, "nse-elsewhere", url="tcp://10.9.9.9:5001"), timeout=10).url == "tcp://10.9.9.9:5001"
    finally:
        stop(process)
    bad = subprocess.run([nsm_binary(), "registry", "--listen", "tcp://127.0.0.1:1"], capture_output=True, text=True, timeout=30,
                         env={**os.environ, "NSM_REGISTRY_CHECK_REGISTRANT_ADDRESS": "maybe", "NSM_INSECURE": "true"})
    assert bad.returncode != 0 and "NSM_REGISTRY_CHECK_REGISTRANT_ADDRESS=\"maybe\" is not a boolean" in bad.stderr, bad.stderr
