"""What every gRPC server of ours is sent by the hostile-input tables, whatever its service: bytes
that are not a message, a message over gRPC's 4 MiB limit, a compressed one, the wrong
content-type, an unknown method, a request ending inside its message — and what each must get."""
from raw_h2 import RawConnection, grpc_message

HEALTH = "/grpc.health.v1.Health/Check"
OK, INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNIMPLEMENTED, INTERNAL = 0, 3, 8, 12, 13


def transport_cases(method, good_message):
    """name → (path, body, options) for calling `method` (e.g. "/pkg.Service/Call") of a server,
    `good_message` a serialized message it would accept."""
    service = method.rsplit("/", 1)[0]
    return {
        "invalid protobuf bytes": (method, grpc_message(b"\xff\xff\xff\xff\x0f"), {}),
        "a message over the 4 MiB limit": (method, b"\x00" + (5 << 20).to_bytes(4, "big") + b"\x00" * 1024, {}),
        "a compressed message": (method, b"\x01" + (3).to_bytes(4, "big") + b"abc", {}),
        "wrong content-type": (method, grpc_message(good_message), {"content_type": "text/plain"}),
        "unknown method": (f"{service}/Steal", grpc_message(good_message), {}),
        "a request that ends inside a message": (method, grpc_message(good_message)[:-3], {}),
    }


TRANSPORT_EXPECTED = {
    "invalid protobuf bytes": ({INVALID_ARGUMENT, INTERNAL}, None),
    "a message over the 4 MiB limit": ({RESOURCE_EXHAUSTED}, "exceeds"),
    "a compressed message": ({UNIMPLEMENTED}, "compressed"),
    "wrong content-type": ({INTERNAL}, "content-type"),
    "unknown method": ({UNIMPLEMENTED}, None),
    "a request that ends inside a message": ({INTERNAL}, "inside a message"),
}


def healthy(host, port=None):
    """A good call on a fresh connection (TCP, or the unix socket at `host`): Health/Check answers SERVING."""
    try:
        connection = RawConnection(host, port, timeout=10)
    except OSError:
        return False
    try:
        outcome = connection.call(HEALTH, grpc_message(b""))
        return outcome.status == OK and outcome.data == grpc_message(b"\x08\x01")
    finally:
        connection.close()


def call_and_check(address, case, expected):
    """Sends `case` ((path, body, options)) on a fresh connection to `address` ((host, port) or a
    unix path); checks the status is one of `expected`'s codes, its message holds `expected`'s
    words, and echoed input is capped (1 KiB: it fits gRPC's default 8 KiB metadata limit)."""
    path, body, options = case
    connection = RawConnection(*address) if isinstance(address, tuple) else RawConnection(address)
    try:
        outcome = connection.call(path, body, **options)
    finally:
        connection.close()
    codes, words = expected
    assert outcome.status in codes, outcome
    if words:
        assert words in outcome.message, outcome
    assert len(outcome.message) <= 1100, f"{len(outcome.message)}-byte grpc-message"
    return outcome
