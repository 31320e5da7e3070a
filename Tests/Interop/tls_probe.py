"""One grpc.health.v1.Health/Check call with grpcio, printed as JSON ({"code", "message", "status"}):
over TLS presenting CHAIN/KEY and trusting BUNDLE (PEM files), the server's certificate checked
for the DNS name SERVER_NAME; or in plaintext when CHAIN is "plaintext".

Usage: tls_probe.py TARGET SERVER_NAME CHAIN KEY BUNDLE"""
import json
import sys

import grpc


def main():
    target, server_name, chain, key, bundle = sys.argv[1:6]
    if chain == "plaintext":
        channel = grpc.insecure_channel(target)
    else:
        def read(path):
            with open(path, "rb") as file:
                return file.read()
        credentials = grpc.ssl_channel_credentials(root_certificates=read(bundle), private_key=read(key), certificate_chain=read(chain))
        channel = grpc.secure_channel(target, credentials, options=[("grpc.ssl_target_name_override", server_name)])
    check = channel.unary_unary("/grpc.health.v1.Health/Check", request_serializer=lambda m: m, response_deserializer=lambda m: m)
    try:
        answer = check(b"", timeout=10)
        # HealthCheckResponse: field 1 (status) varint; 1 = SERVING.
        print(json.dumps({"code": "OK", "message": "", "status": answer.hex()}))
    except grpc.RpcError as error:
        print(json.dumps({"code": error.code().name, "message": error.details() or "", "status": ""}))
    finally:
        channel.close()


if __name__ == "__main__":
    main()
