#!/usr/bin/env python3
"""Benchmark: the registry's two stores side by side in one run.

For each store (memory; kubernetes on Tests/KubernetesAPIServer, the stand-in API server the tests
use), an `nsm registry` is loaded with N NetworkServiceEndpoints over gRPC (grpcio, stubs made from
dev/protos), then, with a watch open, M more are registered one at a time and the time from
Register's return to the watch's event is taken (from the Register call to the watch's event: register -> watcher sees it). The registry's
resident memory is read from /proc before and after the load.

Against the stand-in the kubernetes store's latency includes the Python server's own time; the
memory difference is the registry's (its informer cache and view). Run from the repository root:

    .venv-test/bin/python scripts/bench-registry.py [--endpoints 10000] [--sample 200] [--binary .build/release/nsm]
"""
import argparse, concurrent.futures, os, shutil, subprocess, sys, tempfile, threading, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "Tests", "Interop"))

from conftest import apply_crds, free_port, start_apiserver, stop  # noqa: E402


def stubs():
    from grpc_tools import protoc
    import grpc_tools
    out = tempfile.mkdtemp(prefix="nsm-bench-stubs-")
    include = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    assert protoc.main(["protoc", f"-I{ROOT}/dev/protos", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}", "registry.proto"]) == 0
    sys.path.insert(0, out)
    import registry_pb2, registry_pb2_grpc  # noqa: E401
    return registry_pb2, registry_pb2_grpc


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def run(store, binary, endpoints, sample, pb2, grpc_pb2):
    import grpc
    directory = tempfile.mkdtemp(prefix="nsm-bench-")
    processes = []
    try:
        extra = []
        if store == "kubernetes":
            apiserver, _ = start_apiserver(directory)
            processes.append(apiserver)
            apply_crds(os.path.join(directory, "kubeconfig"))
            extra = ["--store", "kubernetes", "--kubeconfig", os.path.join(directory, "kubeconfig"), "--namespace", "nsm-system", "--kubelet-qps", "5000"]
        port = free_port()
        registry = subprocess.Popen([binary, "registry", "--listen", f"tcp://127.0.0.1:{port}", "--expire-period", "30m", *extra],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        processes.append(registry)
        while "registry listening on" not in registry.stdout.readline():
            assert registry.poll() is None, "the registry exited"
        threading.Thread(target=lambda: [None for _ in registry.stdout], daemon=True).start()
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        stub = grpc_pb2.NetworkServiceEndpointRegistryStub(channel)
        before = rss_kb(registry.pid)

        def register(name):
            nse = pb2.NetworkServiceEndpoint(name=name, network_service_names=["svc"], url="tcp://10.0.0.1:5001")
            nse.network_service_labels["svc"].labels.update({"app": "bench"})
            stub.Register(nse, timeout=60)

        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(register, (f"nse-{i}" for i in range(endpoints))))
        load_seconds = time.monotonic() - started
        query = pb2.NetworkServiceEndpointQuery(network_service_endpoint=pb2.NetworkServiceEndpoint(network_service_names=["svc"]), watch=True)
        stream = stub.Find(query, timeout=600)
        seen = {}
        ready = threading.Event()

        def consume():
            count = 0
            try:
                for response in stream:
                    count += 1
                    if count == endpoints:
                        ready.set()
                    seen[response.network_service_endpoint.name] = time.monotonic()
            except grpc.RpcError:
                pass  # cancelled at the end
        consumer = threading.Thread(target=consume, daemon=True)
        consumer.start()
        assert ready.wait(300), "the watch never delivered the loaded endpoints"
        latencies = []
        for i in range(sample):
            name = f"probe-{i}"
            sent = time.monotonic()
            register(name)
            while name not in seen:
                time.sleep(0.0002)
            latencies.append(seen[name] - sent)
        stream.cancel()
        after = rss_kb(registry.pid)
        return {"store": store, "load": load_seconds, "p50": percentile(latencies, 0.5), "p90": percentile(latencies, 0.9),
                "before": before, "after": after}
    finally:
        for process in reversed(processes):
            stop(process)
        shutil.rmtree(directory, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoints", type=int, default=10000)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "nsm"))
    args = parser.parse_args()
    pb2, grpc_pb2 = stubs()
    rows = [run(store, args.binary, args.endpoints, args.sample, pb2, grpc_pb2) for store in ("memory", "kubernetes")]
    print(f"| store | {args.endpoints} NSEs registered in | register -> watch p50 | p90 | RSS before | RSS with {args.endpoints} | per NSE |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        per = (r["after"] - r["before"]) * 1024 / args.endpoints
        print(f"| {r['store']} | {r['load']:.1f} s | {r['p50'] * 1000:.2f} ms | {r['p90'] * 1000:.2f} ms | {r['before'] / 1024:.0f} MB | "
              f"{r['after'] / 1024:.0f} MB | {per:.0f} B |")


if __name__ == "__main__":
    main()
