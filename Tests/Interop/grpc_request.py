"""Sends one NetworkService Request (or Close) with grpcio from wherever it is started — inside a
pod's namespace with `ip netns exec` — and prints the outcome as JSON: what a process in that pod
could do with the manager's socket.

Usage: grpc_request.py TARGET SERVICE IFACE INODE_URL [refresh|close CONNECTION | monitor]
With SPIFFE_ENDPOINT_SOCKET set, the call is made with mutual TLS and the SVID the Workload API
gives this process (the server's certificate must name GRPC_SERVER_NAME, default node0), and the
request's own path segment carries a token for GRPC_SERVER_ID; TOKEN=none|expired|other-key|spliced|
other-audience sends a bad one instead. TOKEN=metadata-only sends the token only as upstream's
`nsm-client-token` metadata (the segment's empty); metadata-other-key sends a good segment and a
metadata token signed by another key; metadata-no-expiry the metadata token without its expiry.
A new connection has id SERVICE-IFACE; its answer's bytes come back base64-encoded ("connection"),
and `refresh`/`close` send such a connection (whoever's it is) back as a Request or a Close."""
import base64
import json
import os
import sys

import grpc

import connection_pb2
import networkservice_pb2
import networkservice_pb2_grpc
import time

from spiffe_client import fetch_svid, mtls_channel, path_token


def other_key_pem():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def token_metadata(identity):
    """Upstream's per-call credentials for the TOKEN=metadata-* modes, else none."""
    mode = os.environ.get("TOKEN", "valid")
    if not mode.startswith("metadata-"):
        return []
    import datetime
    expires = time.time() + 300
    token = path_token(identity, os.environ["GRPC_SERVER_ID"], expires, other_key_pem() if mode == "metadata-other-key" else None)
    stamp = datetime.datetime.fromtimestamp(int(expires), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.123456789Z")
    return [("nsm-client-token", token)] + ([] if mode == "metadata-no-expiry" else [("nsm-client-token-expires", stamp)])


def sign(connection, identity):
    """Puts this process's token for the server into its own path segment (as every hop does)."""
    mode = os.environ.get("TOKEN", "valid")
    if mode in ("none", "metadata-only"):
        return
    elsewhere = "spiffe://local.nsm/ns/elsewhere/pod/someone"
    if mode == "spliced":
        # A segment from some other path before ours: its token was meant for another hop.
        earlier = connection_pb2.PathSegment(name="spliced", id="spliced-0", token=path_token(identity, elsewhere, time.time() + 300, None))
        segments = [earlier] + list(connection.path.path_segments)
        del connection.path.path_segments[:]
        connection.path.path_segments.extend(segments)
        connection.path.index = 1
    segment = connection.path.path_segments[connection.path.index]
    audience = os.environ["GRPC_SERVER_ID"] if mode != "other-audience" else elsewhere
    expires = time.time() + (300 if mode != "expired" else -60)
    other_key = other_key_pem() if mode == "other-key" else None
    segment.token = path_token(identity, audience, expires, other_key)
    segment.expires.FromSeconds(int(max(expires, time.time() + 1)))


def main():
    target, service, interface, inode_url = sys.argv[1:5]
    mechanism = connection_pb2.Mechanism(cls="LOCAL", type="KERNEL", parameters={"name": interface, "inodeURL": inode_url})
    if len(sys.argv) > 6:
        connection = connection_pb2.Connection.FromString(base64.b64decode(sys.argv[6]))
        if connection.mechanism.type == "KERNEL":
            connection.mechanism.parameters["inodeURL"] = inode_url
    else:
        connection = connection_pb2.Connection(id=f"{service}-{interface}", network_service=service)
        connection.path.path_segments.add(name="grpc-request", id=connection.id)
    request = networkservice_pb2.NetworkServiceRequest(connection=connection, mechanism_preferences=[mechanism])
    # (the request holds a copy: sign it too)
    secure = "SPIFFE_ENDPOINT_SOCKET" in os.environ
    identity = fetch_svid() if secure else None
    if secure:
        sign(request.connection, identity)
        sign(connection, identity)
    channel = mtls_channel(target, os.environ.get("GRPC_SERVER_NAME", "node0"), identity) if secure else grpc.insecure_channel(target)
    with channel:
        stub = networkservice_pb2_grpc.NetworkServiceStub(channel)
        try:
            if sys.argv[5:6] == ["monitor"]:
                # The connections the manager shows this caller, by their first (client) segment's id.
                import connection_pb2_grpc
                events = connection_pb2_grpc.MonitorConnectionStub(channel).MonitorConnections(connection_pb2.MonitorScopeSelector(), timeout=20)
                first = next(iter(events))
                events.cancel()
                print(json.dumps({"code": "OK", "clients": sorted(c.path.path_segments[0].id for c in first.connections.values())}))
                return
            if sys.argv[5:6] == ["close"]:
                stub.Close(connection, timeout=20, metadata=token_metadata(identity))
                print(json.dumps({"code": "OK"}))
                return
            answer = stub.Request(request, timeout=20, metadata=token_metadata(identity))
            print(json.dumps({"code": "OK", "addresses": list(answer.context.ip_context.src_ip_addrs),
                              "connection": base64.b64encode(answer.SerializeToString()).decode()}))
        except grpc.RpcError as error:
            print(json.dumps({"code": error.code().name, "message": error.details()}))


if __name__ == "__main__":
    main()
