#!/usr/bin/env bash
# Installs what the tests and benchmarks need on a fresh Debian/Ubuntu machine (as root):
# system packages (iproute2, ping, CNI plugins, dnsmasq, dig, dnsperf, openssl and curl for the
# test Kubernetes API server), and a Python venv
# (.venv-test) with grpcio-tools, pytest, dnspython, jsonpatch (for the test Kubernetes API
# server, Tests/KubernetesAPIServer) and kubernetes-validate (official schemas, offline).
# kubectl (1.32) is part of the machine image.
# Safe to run repeatedly; installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v ip >/dev/null || need+=(iproute2)
command -v ping >/dev/null || need+=(iputils-ping)
[ -x /usr/lib/cni/ptp ] || need+=(containernetworking-plugins)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
command -v dig >/dev/null || need+=(bind9-dnsutils)
command -v dnsperf >/dev/null || need+=(dnsperf)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
    echo "install-deps: apt-get install ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! command -v kubectl >/dev/null; then
    echo "install-deps: kubectl is missing; the Kubernetes interop tests use it as a real client (1.32 or newer;" \
         "Debian's kubernetes-client is too old): https://kubernetes.io/docs/tasks/tools/" >&2
    exit 1
fi

if [ ! -x .venv-test/bin/python ] || ! .venv-test/bin/python -c 'import grpc_tools, pytest, dns.message, jsonpatch, kubernetes_validate, yaml, kubernetes, cryptography, h2, prometheus_client, opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc' 2>/dev/null; then
    echo "install-deps: creating .venv-test (grpcio-tools, pytest, dnspython, jsonpatch, kubernetes-validate, kubernetes, cryptography, h2, prometheus-client, opentelemetry-proto)"
    python3 -m venv .venv-test
    .venv-test/bin/pip install -q --disable-pip-version-check grpcio grpcio-tools pytest dnspython jsonpatch kubernetes-validate pyyaml kubernetes cryptography h2 prometheus-client opentelemetry-proto
fi
