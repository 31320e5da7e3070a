#!/usr/bin/env python3
"""A stand-in for kube-apiserver, for tests on machines where no real one can run.

It follows the published API conventions (https://kubernetes.io/docs/reference/using-api/api-concepts/),
not what any client of this repository expects: collections and objects under /api/v1 and
/apis/GROUP/VERSION, namespaced or cluster-scoped; create (201, 409 AlreadyExists, 422 Invalid
with causes), get, update with resourceVersion (409 Conflict when stale), merge and JSON patch,
delete; list with label and field selectors, limit and continue; watch from a resourceVersion
with ADDED/MODIFIED/DELETED/BOOKMARK events, 410 Expired for a version older than the history it
keeps, watches ended by the server; Status bodies for every failure; bearer-token auth; TLS;
discovery (/api, /apis, resource lists with short names) for the built-in kinds it knows and for
every CustomResourceDefinition created in it, and Table output with a CRD's printer columns, so
that kubectl works against it; admission webhooks called as the API server calls them
(admission.py).

It is not a Kubernetes implementation: no built-in admission, no schema validation, no garbage
collection, no controllers.

Usage: apiserver.py --dir DIR [--port N] [--state FILE] [--token T] [--watch-seconds S] [--history N]
Writes DIR/ca.crt, DIR/server.crt, DIR/server.key (kept when DIR already has them, so a restarted
server is the same server to its clients) and DIR/kubeconfig, then prints "PORT <n>". With
--state, objects and the resourceVersion counter are written through to FILE and read back on
start, as etcd keeps them across an API server restart
(and sends READY=1 with STATUS=PORT <n> to NOTIFY_SOCKET when it is set).
"""
import argparse, http.server, ipaddress, json, os, socketserver, ssl, subprocess, sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from admission import Admission  # noqa: E402
from discovery import Discovery  # noqa: E402
from reads import Reads  # noqa: E402
from store import BUILTIN, Store, UnsupportedBody, status  # noqa: E402
from writes import Writes  # noqa: E402


class Handler(Reads, Writes, Admission, Discovery, http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nsm-test-apiserver"

    def log_message(self, fmt, *args):  # quiet
        pass

    # -- plumbing --
    def reply(self, code, body, content_type="application/json"):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for warning in getattr(self, "warnings", []):
            self.send_header("Warning", '299 - "' + warning.replace('"', "'") + '"')
        self.warnings = []
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            raw = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                raw += self.rfile.read(size)
                self.rfile.readline()
        else:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
        if raw and "json" not in (self.headers.get("Content-Type") or "application/json"):
            raise UnsupportedBody(self.headers.get("Content-Type"))
        return json.loads(raw) if raw else None

    def authorized(self):
        token = self.server.token
        if not token or self.headers.get("Authorization") == f"Bearer {token}":
            return True
        self.reply(*status(401, "Unauthorized", "Unauthorized"))
        return False

    def route(self):
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        parts = [urllib.parse.unquote(p) for p in url.path.strip("/").split("/") if p]
        return parts, query

    def resource(self, parts):
        """(group, version, plural, namespace, name, namespaced) for a resource path, else None."""
        if parts[:1] == ["api"] and len(parts) >= 3:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 2:
            return None
        plural, name = rest[0], (rest[1] if len(rest) == 2 else None)
        if not self.known(group, version, plural):
            return "unknown"
        namespaced = self.namespaced(group, version, plural)
        if namespace is not None and not namespaced:
            return "unknown"
        return group, version, plural, namespace, name, namespaced

    def kinds(self):
        listing = {k: list(v) for k, v in BUILTIN.items()}
        with self.server.store.lock:
            for key, entries in self.server.store.crds.items():
                listing.setdefault(key, []).extend((p, k, n, s) for p, k, n, s, _ in entries)
        return listing

    def known(self, group, version, plural):
        return any(p == plural for p, _, _, _ in self.kinds().get((group, version), []))

    def namespaced(self, group, version, plural):
        return next(n for p, _, n, _ in self.kinds()[(group, version)] if p == plural)

    def kind_of(self, group, version, plural):
        return next(k for p, k, _, _ in self.kinds()[(group, version)] if p == plural)

    # -- verbs --
    def do_GET(self):
        if not self.authorized():
            return
        parts, query = self.route()
        if self.discovery(parts):
            return
        target = self.resource(parts)
        if target is None or target == "unknown":
            return self.reply(*status(404, "NotFound", "the server could not find the requested resource"))
        group, version, plural, namespace, name, namespaced = target
        if name:
            return self.get(group, version, plural, namespace, name)
        if query.get("watch") in ("true", "1"):
            return self.watch(group, version, plural, namespace, query)
        return self.list(group, version, plural, namespace, query)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def allocate_cluster_ips(self, name, spec):
        """A Service's requested cluster IPs must lie in the service range; the refusal names the
        range in kube-apiserver's words."""
        for ip in [spec.get("clusterIP")] + list(spec.get("clusterIPs") or []):
            if not ip or ip == "None":
                continue
            if not any(ipaddress.ip_address(ip) in network for network in self.service_cidrs):
                ranges = ",".join(str(n) for n in self.service_cidrs)
                message = (f'Service "{name}" is invalid: spec.clusterIPs: Invalid value: []string{{"{ip}"}}: failed to allocate IP {ip}: '
                           f"the provided IP ({ip}) is not in the valid range. The range of valid IPs is {ranges}")
                return status(422, "Invalid", message, {"name": name, "kind": "Service", "causes": [
                    {"reason": "FieldValueInvalid", "message": message.split(": ", 2)[-1], "field": "spec.clusterIPs"}]})
        return None


def make_certificates(directory, names):
    """A CA and a server certificate for `names` (subjectAltName entries), with openssl (the
    ones already in `directory`, if any)."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)
    ca_key, ca_crt = f"{directory}/ca.key", f"{directory}/ca.crt"
    key, csr, crt, ext = (f"{directory}/server.{x}" for x in ("key", "csr", "crt", "ext"))
    if all(os.path.exists(path) for path in (ca_crt, crt, key)):
        return ca_crt, crt, key
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", ca_key, "-out", ca_crt,
        "-days", "2", "-subj", "/CN=nsm-test-apiserver-ca")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=kube-apiserver")
    with open(ext, "w") as f:
        f.write(f"subjectAltName={names}\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext)
    return ca_crt, crt, key


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--token", default="test-token")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state", help="keep the objects in this file across restarts")
    parser.add_argument("--names", default="IP:127.0.0.1,IP:::1,DNS:localhost", help="the serving certificate's subjectAltName")
    parser.add_argument("--watch-seconds", type=float, default=1800, help="end every watch after this long")
    parser.add_argument("--bookmark-seconds", type=float, default=1.0)
    parser.add_argument("--history", type=int, default=10000, help="events kept for watches")
    parser.add_argument("--service-cidr", default="10.96.0.0/12", help="the service range, comma-separated for dual stack")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    ca, crt, key = make_certificates(args.dir, args.names)
    server = Server(("127.0.0.1", args.port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(crt, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.store = Store(args.history, args.state)
    server.token = args.token
    server.watch_seconds = args.watch_seconds
    server.bookmark_seconds = args.bookmark_seconds
    server.stopping = False
    server.service_cidrs = [ipaddress.ip_network(c.strip()) for c in args.service_cidr.split(",")]
    port = server.server_address[1]
    server.address = f"127.0.0.1:{port}"
    with open(f"{args.dir}/kubeconfig", "w") as f:
        f.write(f"""apiVersion: v1
kind: Config
current-context: test
clusters:
- name: test
  cluster: {{server: "https://127.0.0.1:{port}", certificate-authority: {ca}}}
contexts:
- name: test
  context: {{cluster: test, user: tester, namespace: default}}
users:
- name: tester
  user: {{token: {args.token}}}
""")
    print(f"PORT {port}", flush=True)
    notify = os.environ.get("NOTIFY_SOCKET")
    if notify:  # systemd's readiness protocol, as the mesh's own components speak it
        import socket
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(f"READY=1\nSTATUS=PORT {port}\n".encode(), notify)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stopping = True


if __name__ == "__main__":
    main()
