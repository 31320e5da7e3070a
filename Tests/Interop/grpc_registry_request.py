"""Registers, unregisters or finds an endpoint name with grpcio over mutual TLS (the SVID the
Workload API at SPIFFE_ENDPOINT_SOCKET gives this process) and prints the outcome as JSON.
Usage: grpc_registry_request.py TARGET register|unregister|find NAME [SERVER_NAME [URL]]
With PATH_TOKEN=valid|forged|garbled (and SERVER_ID, the server's SPIFFE ID), the call carries
upstream's registry path as metadata `path` — this process's segment with its token for the server
(signed by another key when forged; not JSON when garbled) — and the outcome has the server's
`path` header, the endpoint's `path_ids` and this process's own SPIFFE ID."""
import json
import os
import sys
import time

import grpc

import registry_pb2
import registry_pb2_grpc
from spiffe_client import fetch_svid, mtls_channel, path_token


def path_metadata(identity):
    mode = os.environ.get("PATH_TOKEN")
    if not mode:
        return []
    if mode == "garbled":
        return [("path", "{not json")]
    other_key = None
    if mode == "forged":
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        other_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    token = path_token(identity, os.environ["SERVER_ID"], time.time() + 300, other_key)
    return [("path", json.dumps({"Index": 0, "PathSegments": [{"token": token}]}))]


def main():
    target, verb, name = sys.argv[1:4]
    server_name = sys.argv[4] if len(sys.argv) > 4 else "node0"
    url = sys.argv[5] if len(sys.argv) > 5 else "unix:///tmp/not-an-endpoint.sock"
    endpoint = registry_pb2.NetworkServiceEndpoint(name=name, network_service_names=["svc-theft"], url=url)
    identity = fetch_svid()
    metadata = path_metadata(identity)
    with mtls_channel(target, server_name, identity) as channel:
        stub = registry_pb2_grpc.NetworkServiceEndpointRegistryStub(channel)
        outcome = {"code": "OK", "self": identity[0]}
        try:
            if verb == "find":
                query = registry_pb2.NetworkServiceEndpointQuery(network_service_endpoint=registry_pb2.NetworkServiceEndpoint(name=name))
                found = [answer.network_service_endpoint for answer in stub.Find(query, timeout=20, metadata=metadata)]
                outcome["path_ids"] = [list(entry.path_ids) for entry in found]
            else:
                method = stub.Register if verb == "register" else stub.Unregister
                answer, call = method.with_call(endpoint, timeout=20, metadata=metadata)
                header = dict(call.initial_metadata()).get("path")
                outcome["path"] = json.loads(header) if header else None
                if verb == "register":
                    outcome["path_ids"] = list(answer.path_ids)
        except grpc.RpcError as error:
            outcome = {"code": error.code().name, "message": error.details()}
        print(json.dumps(outcome))


if __name__ == "__main__":
    main()
