"""Registers or unregisters an endpoint name with grpcio over mutual TLS (the SVID the Workload API
at SPIFFE_ENDPOINT_SOCKET gives this process) and prints the outcome as JSON.
Usage: grpc_registry_request.py TARGET register|unregister NAME [SERVER_NAME [URL]]"""
import json
import sys

import grpc

import registry_pb2
import registry_pb2_grpc
from spiffe_client import mtls_channel


def main():
    target, verb, name = sys.argv[1:4]
    server_name = sys.argv[4] if len(sys.argv) > 4 else "node0"
    url = sys.argv[5] if len(sys.argv) > 5 else "unix:///tmp/not-an-endpoint.sock"
    endpoint = registry_pb2.NetworkServiceEndpoint(name=name, network_service_names=["svc-theft"], url=url)
    with mtls_channel(target, server_name) as channel:
        stub = registry_pb2_grpc.NetworkServiceEndpointRegistryStub(channel)
        try:
            if verb == "register":
                stub.Register(endpoint, timeout=20)
            else:
                stub.Unregister(endpoint, timeout=20)
            print(json.dumps({"code": "OK"}))
        except grpc.RpcError as error:
            print(json.dumps({"code": error.code().name, "message": error.details()}))


if __name__ == "__main__":
    main()
