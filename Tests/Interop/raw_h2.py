"""A raw HTTP/2 gRPC client (PyPI `h2`, not a gRPC library) for hostile input: any bytes, any
frame sizes, any headers; it reports what the server answered, frame by frame if need be."""
import socket
import struct

import h2.config
import h2.connection
import h2.events
import h2.exceptions


def grpc_message(payload: bytes) -> bytes:
    """A gRPC length-prefixed message: uncompressed flag, 4-byte big-endian length, bytes."""
    return b"\x00" + struct.pack(">I", len(payload)) + payload


class Outcome:
    def __init__(self):
        self.headers, self.trailers, self.data, self.reset, self.closed = {}, {}, b"", None, False

    @property
    def status(self):
        """grpc-status as an int (from the trailers or a trailers-only response), or None."""
        raw = self.trailers.get("grpc-status", self.headers.get("grpc-status"))
        return int(raw) if raw is not None else None

    @property
    def message(self):
        return self.trailers.get("grpc-message", self.headers.get("grpc-message", ""))

    def __repr__(self):
        return f"Outcome(status={self.status}, message={self.message[:200]!r}, reset={self.reset}, closed={self.closed}, data={len(self.data)} bytes)"


class RawConnection:
    def __init__(self, host, port=None, timeout=30):
        """To `host`:`port` over TCP, or to the unix socket at path `host` when `port` is None."""
        if port is None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(host)
        else:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        self.conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.flush()
        self.outcomes = {}
        self.closed = False

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def receive(self):
        """Reads once from the socket and handles what came; False once the server closed."""
        try:
            data = self.sock.recv(1 << 16)
        except socket.timeout:
            return True
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed = True
            for outcome in self.outcomes.values():
                outcome.closed = True
            return False
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            self.closed = True
            return False
        for event in events:
            outcome = self.outcomes.get(getattr(event, "stream_id", None))
            if isinstance(event, h2.events.ResponseReceived) and outcome:
                outcome.headers = dict(event.headers)
            elif isinstance(event, h2.events.TrailersReceived) and outcome:
                outcome.trailers = dict(event.headers)
            elif isinstance(event, h2.events.DataReceived):
                if outcome:
                    outcome.data += event.data
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamReset) and outcome:
                outcome.reset = event.error_code
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.closed = True
        self.flush()
        return True

    def open(self, path, content_type="application/grpc", extra=()):
        stream = self.conn.get_next_available_stream_id()
        headers = [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "localhost"),
                   ("content-type", content_type), ("te", "trailers"), *extra]
        self.conn.send_headers(stream, headers)
        self.flush()
        self.outcomes[stream] = Outcome()
        return stream

    def send(self, stream, body, frame_size=16384, end=True):
        """Sends `body` in DATA frames of at most `frame_size` bytes, waiting for window as needed."""
        offset = 0
        while offset < len(body):
            window = min(self.conn.local_flow_control_window(stream), self.conn.max_outbound_frame_size)
            if window <= 0:
                if not self.receive():
                    return
                continue
            size = min(frame_size, window, len(body) - offset)
            self.conn.send_data(stream, body[offset:offset + size])
            self.flush()
            offset += size
        if end:
            self.conn.end_stream(stream)
            self.flush()

    def wait(self, stream, within=None):
        """Reads until `stream` is answered (trailers or reset), the connection closes, or `within`
        seconds passed (then the outcome has no status: as a client's deadline would end it)."""
        import time
        outcome = self.outcomes[stream]
        deadline = time.monotonic() + within if within else None
        while outcome.status is None and outcome.reset is None and not self.closed:
            if deadline:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.sock.settimeout(left)
            if not self.receive():
                break
        return outcome

    def call(self, path, body, **options):
        frame_size = options.pop("frame_size", 16384)
        stream = self.open(path, **options)
        self.send(stream, body, frame_size=frame_size)
        return self.wait(stream)

    def close(self):
        try:
            self.conn.close_connection()
            self.flush()
        except Exception:
            pass
        self.sock.close()
