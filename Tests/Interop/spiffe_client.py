"""A process's SPIFFE identity from the Workload API with grpcio, as any workload would fetch it,
and grpcio channel credentials made from it (PEM, as grpcio takes them)."""
import base64
import os

import grpc

from spiffe import workload_pb2, workload_pb2_grpc


def der_elements(data):
    """Splits DER elements written one after another (the Workload API's certificate lists)."""
    items, index = [], 0
    while index < len(data):
        start = index
        index += 1
        length = data[index]
        index += 1
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(data[index:index + count], "big")
            index += count
        index += length
        items.append(data[start:index])
    return items


def pem(kind, der):
    body = base64.encodebytes(der).decode().replace("\n", "")
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return (f"-----BEGIN {kind}-----\n" + "\n".join(lines) + f"\n-----END {kind}-----\n").encode()


def fetch_svid(socket=None, timeout=20):
    """(spiffe_id, chain_pem, key_pem, bundle_pem) from the first FetchX509SVID message."""
    socket = socket or os.environ["SPIFFE_ENDPOINT_SOCKET"]
    with grpc.insecure_channel(socket) as channel:
        stub = workload_pb2_grpc.SpiffeWorkloadAPIStub(channel)
        stream = stub.FetchX509SVID(workload_pb2.X509SVIDRequest(), metadata=[("workload.spiffe.io", "true")], timeout=timeout)
        first = next(iter(stream)).svids[0]
        stream.cancel()
    chain = b"".join(pem("CERTIFICATE", der) for der in der_elements(first.x509_svid))
    bundle = b"".join(pem("CERTIFICATE", der) for der in der_elements(first.bundle))
    return first.spiffe_id, chain, pem("PRIVATE KEY", first.x509_svid_key), bundle


def mtls_channel(target, server_name, identity=None):
    """A channel presenting `identity` (fetched when not given) and trusting its bundle; the
    server's certificate must name `server_name` as a DNS SAN (grpcio checks a host name)."""
    _, chain, key, bundle = identity or fetch_svid()
    credentials = grpc.ssl_channel_credentials(root_certificates=bundle, private_key=key, certificate_chain=chain)
    return grpc.secure_channel(target, credentials, options=[("grpc.ssl_target_name_override", server_name)])


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def path_token(identity, audience, expires, key_pem=None):
    """upstream's per-hop token: an ES256 JWT with `sub` this SVID's ID, `aud` the next hop's,
    `exp`; signed with `key_pem` when given (tests sign with a key that is not the SVID's)."""
    import json
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    spiffe_id, _, key, _ = identity
    private_key = serialization.load_pem_private_key(key_pem or key, password=None)
    header = b64url(json.dumps({"alg": "ES256", "typ": "JWT"}).encode())
    claims = b64url(json.dumps({"sub": spiffe_id, "aud": [audience], "exp": int(expires)}).encode())
    r, s = decode_dss_signature(private_key.sign(f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256())))
    return f"{header}.{claims}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
