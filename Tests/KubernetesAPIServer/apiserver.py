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
that kubectl works against it.

It is not a Kubernetes implementation: no admission, no schema validation, no garbage collection.

Usage: apiserver.py --dir DIR [--token T] [--watch-seconds S] [--history N]
Writes DIR/ca.crt, DIR/server.crt, DIR/server.key and DIR/kubeconfig, then prints "PORT <n>"
(and sends READY=1 with STATUS=PORT <n> to NOTIFY_SOCKET when it is set).
"""
import argparse, base64, ipaddress, copy, datetime, http.server, json, os, re, socketserver, ssl, subprocess, sys, threading, time, uuid
import urllib.parse

try:
    import jsonpatch
except ImportError:  # pragma: no cover
    jsonpatch = None

CLUSTER_SCOPED = {"nodes", "namespaces", "customresourcedefinitions", "servicecidrs",
                  "mutatingwebhookconfigurations", "validatingwebhookconfigurations"}
BUILTIN = {
    ("", "v1"): [("configmaps", "ConfigMap", True, ["cm"]), ("services", "Service", True, ["svc"]),
                 ("nodes", "Node", False, ["no"]), ("namespaces", "Namespace", False, ["ns"]),
                 ("pods", "Pod", True, ["po"])],
    ("apiextensions.k8s.io", "v1"): [("customresourcedefinitions", "CustomResourceDefinition", False, ["crd", "crds"])],
    ("networking.k8s.io", "v1"): [("servicecidrs", "ServiceCIDR", False, [])],
    ("admissionregistration.k8s.io", "v1"): [
        ("mutatingwebhookconfigurations", "MutatingWebhookConfiguration", False, []),
        ("validatingwebhookconfigurations", "ValidatingWebhookConfiguration", False, [])],
}
NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def status(code, reason, message, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return code, body


class Store:
    """Every object, the global resourceVersion counter and the recent events."""

    def __init__(self, history):
        self.lock = threading.Condition()
        self.rv = 1
        self.objects = {}          # (group, version, plural) -> {(namespace, name): object}
        self.events = []           # (rv, key, type, object)
        self.history = history
        self.oldest = 1            # events before this rv are forgotten
        self.crds = {}             # (group, version) -> [(plural, kind, namespaced, shortNames, columns)]
        self.expiry = 0            # bumped to end every open watch with 410 Expired
        self.lists = 0             # LIST calls served (tests count relists)

    def next_rv(self):
        self.rv += 1
        return self.rv

    def record(self, key, kind, obj):
        self.events.append((int(obj["metadata"]["resourceVersion"]), key, kind, copy.deepcopy(obj)))
        if len(self.events) > self.history:
            drop = len(self.events) - self.history
            self.oldest = self.events[drop][0]
            del self.events[:drop]
        self.lock.notify_all()

    def compact(self):
        with self.lock:
            self.events.clear()
            self.oldest = self.rv + 1


def matches_labels(obj, selector):
    labels = obj.get("metadata", {}).get("labels") or {}
    for term in filter(None, (t.strip() for t in re.split(r",(?![^()]*\))", selector or ""))):
        m = re.match(r"^([^\s!=]+)\s+(in|notin)\s+\((.*)\)$", term)
        if m:
            values = {v.strip() for v in m.group(3).split(",")}
            if (labels.get(m.group(1)) in values) != (m.group(2) == "in"):
                return False
        elif "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k.strip()) == v.strip():
                return False
        elif "=" in term:
            k, v = term.replace("==", "=").split("=", 1)
            if labels.get(k.strip()) != v.strip():
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def matches_fields(obj, selector):
    meta = obj.get("metadata", {})
    for term in filter(None, (t.strip() for t in (selector or "").split(","))):
        negate = "!=" in term
        k, v = term.split("!=" if negate else "=", 1)
        actual = {"metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace")}.get(k.strip().replace("==", ""))
        if (actual == v.strip().lstrip("=")) == negate:
            return False
    return True


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def jsonpath(obj, path):
    value = obj
    for part in path.strip(".").split("."):
        m = re.match(r"^(\w+)\[(\d+)\]$", part)
        if m:
            value = (value or {}).get(m.group(1)) if isinstance(value, dict) else None
            value = value[int(m.group(2))] if isinstance(value, list) and len(value) > int(m.group(2)) else None
        else:
            value = value.get(part) if isinstance(value, dict) else None
    return value


class UnsupportedBody(Exception):
    """A body this server cannot read (it speaks JSON, not protobuf)."""


class Handler(http.server.BaseHTTPRequestHandler):
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

    def get(self, group, version, plural, namespace, name):
        store = self.server.store
        with store.lock:
            obj = store.objects.get((group, version, plural), {}).get((namespace, name))
        if obj is None:
            return self.reply(*self.not_found(group, plural, name))
        self.reply(200, obj)

    def not_found(self, group, plural, name):
        resource = f"{plural}.{group}" if group else plural
        return status(404, "NotFound", f'{resource} "{name}" not found', {"name": name, "group": group, "kind": plural})

    def list(self, group, version, plural, namespace, query):
        store = self.server.store
        limit = int(query.get("limit") or 0)
        start = 0
        with store.lock:
            store.lists += 1
            rv = store.rv
            if query.get("continue"):
                try:
                    token = json.loads(base64.b64decode(query["continue"]))
                except Exception:
                    return self.reply(*status(400, "BadRequest", "invalid continue token"))
                if token["rv"] < store.oldest:
                    return self.reply(*status(410, "Expired", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter."))
                rv, start = token["rv"], token["start"]
            items = [copy.deepcopy(o) for (ns, _), o in sorted(store.objects.get((group, version, plural), {}).items(), key=lambda kv: (kv[0][0] or "", kv[0][1]))
                     if (namespace is None or ns == namespace) and matches_labels(o, query.get("labelSelector")) and matches_fields(o, query.get("fieldSelector"))]
        meta = {"resourceVersion": str(rv)}
        page = items[start:]
        if limit and len(page) > limit:
            page = page[:limit]
            meta["continue"] = base64.b64encode(json.dumps({"rv": rv, "start": start + limit}).encode()).decode()
        kind = self.kind_of(group, version, plural)
        if "as=Table" in (self.headers.get("Accept") or ""):
            return self.reply(200, self.table(group, version, plural, page, meta))
        self.reply(200, {"kind": f"{kind}List", "apiVersion": f"{group}/{version}" if group else version, "metadata": meta, "items": page})

    def table(self, group, version, plural, items, meta):
        columns = [{"name": "Name", "type": "string", "format": "name", "jsonPath": ".metadata.name"}]
        with self.server.store.lock:
            for p, _, _, _, printer in self.server.store.crds.get((group, version), []):
                if p == plural:
                    columns += printer
        rows = [{"cells": [jsonpath(o, c["jsonPath"]) for c in columns], "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}} for o in items]
        return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                "columnDefinitions": [{"name": c["name"], "type": c.get("type", "string"), "format": c.get("format", ""), "description": "", "priority": 0} for c in columns],
                "rows": rows}

    def watch(self, group, version, plural, namespace, query):
        store = self.server.store
        timeout = min(int(query.get("timeoutSeconds") or 1800), self.server.watch_seconds)
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def send(obj):
            data = json.dumps(obj).encode() + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        key = (group, version, plural)
        with store.lock:
            expiry = store.expiry
            since = int(query.get("resourceVersion") or 0) if query.get("resourceVersion") not in (None, "", "0") else None
            if since is None:
                # "Any": start with the current state as ADDED events.
                pending = [("ADDED", copy.deepcopy(o)) for (ns, _), o in store.objects.get(key, {}).items()
                           if (namespace is None or ns == namespace) and matches_labels(o, query.get("labelSelector"))]
                since = store.rv
            elif since < store.oldest - 1:
                pending = None
            else:
                pending = []
        try:
            if pending is None:
                send({"type": "ERROR", "object": status(410, "Expired", f"too old resource version: {since} ({store.oldest - 1})")[1]})
                return self.end_chunks()
            for kind, obj in pending:
                send({"type": kind, "object": obj})
            deadline = time.monotonic() + timeout
            last_bookmark = time.monotonic()
            while time.monotonic() < deadline and not self.server.stopping:
                with store.lock:
                    if since < store.oldest - 1 or store.expiry != expiry:
                        events = None
                    else:
                        scanned = store.rv  # every event of this watch up to here is in `events`
                        events = [(rv, kind, obj) for rv, k, kind, obj in store.events if rv > since and k == key
                                  and (namespace is None or obj["metadata"].get("namespace") == namespace)
                                  and matches_labels(obj, query.get("labelSelector")) and matches_fields(obj, query.get("fieldSelector"))]
                        if not events:
                            store.lock.wait(timeout=0.2)
                if events is None:
                    send({"type": "ERROR", "object": status(410, "Expired", f"too old resource version: {since} ({store.oldest - 1})")[1]})
                    break
                for rv, kind, obj in events:
                    send({"type": kind, "object": obj})
                    since = rv
                since = max(since, scanned)
                if bookmarks and time.monotonic() - last_bookmark > self.server.bookmark_seconds:
                    kind = self.kind_of(group, version, plural)
                    send({"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": f"{group}/{version}" if group else version,
                                                         "metadata": {"resourceVersion": str(since)}}})
                    last_bookmark = time.monotonic()
            self.end_chunks()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass

    def end_chunks(self):
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass
        self.close_connection = True

    def do_POST(self):
        try:
            self.handle_post()
        except UnsupportedBody as error:
            self.reply(*status(415, "UnsupportedMediaType", f"this test server reads JSON bodies only, not {error}"))

    def handle_post(self):
        if not self.authorized():
            return
        parts, query = self.route()
        target = self.resource(parts)
        if target is None or target == "unknown" or target[4]:
            return self.reply(*status(404, "NotFound", "the server could not find the requested resource"))
        group, version, plural, namespace, _, namespaced = target
        obj = self.body()
        if not isinstance(obj, dict):
            return self.reply(*status(400, "BadRequest", "the body is not a JSON object"))
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        name = meta.get("name") or ""
        kind = self.kind_of(group, version, plural)
        resource = f"{plural}.{group}" if group else plural
        if not NAME.match(name) or len(name) > 253:
            return self.reply(*status(422, "Invalid", f'{kind} "{name}" is invalid: metadata.name: Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character',
                                      {"name": name, "kind": kind, "causes": [{"reason": "FieldValueInvalid", "message": f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters', "field": "metadata.name"}]}))
        if plural == "services" and not group:
            refusal = self.server.allocate_cluster_ips(name, obj.get("spec") or {})
            if refusal:
                return self.reply(*refusal)
        if namespaced:
            namespace = namespace or meta.get("namespace")
            if meta.get("namespace") and meta["namespace"] != namespace:
                return self.reply(*status(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request"))
            meta["namespace"] = namespace
        store = self.server.store
        with store.lock:
            collection = store.objects.setdefault((group, version, plural), {})
            if (namespace if namespaced else None, name) in collection:
                return self.reply(*status(409, "AlreadyExists", f'{resource} "{name}" already exists', {"name": name, "group": group, "kind": plural}))
            if query.get("dryRun") == "All":
                return self.reply(201, obj)
            meta.update(uid=str(uuid.uuid4()), resourceVersion=str(store.next_rv()),
                        creationTimestamp=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
            meta.pop("deletionTimestamp", None)
            obj.setdefault("apiVersion", f"{group}/{version}" if group else version)
            obj.setdefault("kind", kind)
            collection[(namespace if namespaced else None, name)] = obj
            store.record((group, version, plural), "ADDED", obj)
            if plural == "customresourcedefinitions":
                self.register_crd(obj)
        self.reply(201, obj)

    def register_crd(self, crd):
        spec = crd.get("spec", {})
        names = spec.get("names", {})
        for v in spec.get("versions", []):
            if v.get("served", True):
                columns = [{"name": c["name"], "type": c.get("type", "string"), "jsonPath": c["jsonPath"]} for c in v.get("additionalPrinterColumns", [])]
                entries = self.server.store.crds.setdefault((spec["group"], v["name"]), [])
                entries[:] = [e for e in entries if e[0] != names["plural"]]
                entries.append((names["plural"], names["kind"], spec.get("scope", "Namespaced") == "Namespaced", names.get("shortNames", []), columns))

    def do_PUT(self):
        try:
            self.handle_put()
        except UnsupportedBody as error:
            self.reply(*status(415, "UnsupportedMediaType", f"this test server reads JSON bodies only, not {error}"))

    def handle_put(self):
        if not self.authorized():
            return
        parts, _ = self.route()
        target = self.resource(parts)
        if target is None or target == "unknown" or not target[4]:
            return self.reply(*status(404, "NotFound", "the server could not find the requested resource"))
        group, version, plural, namespace, name, namespaced = target
        obj = self.body()
        resource = f"{plural}.{group}" if group else plural
        store = self.server.store
        with store.lock:
            collection = store.objects.get((group, version, plural), {})
            current = collection.get((namespace, name))
            if current is None:
                return self.reply(*self.not_found(group, plural, name))
            sent = (obj.get("metadata") or {}).get("resourceVersion")
            if sent and sent != current["metadata"]["resourceVersion"]:
                return self.reply(*status(409, "Conflict", f'Operation cannot be fulfilled on {resource} "{name}": the object has been modified; please apply your changes to the latest version and try again', {"name": name, "group": group, "kind": plural}))
            self.store_update(group, version, plural, namespace, name, current, obj)
        self.reply(200, obj)

    def store_update(self, group, version, plural, namespace, name, current, obj):
        store = self.server.store
        meta = obj.setdefault("metadata", {})
        for field in ("uid", "creationTimestamp", "name", "namespace"):
            if field in current["metadata"]:
                meta[field] = current["metadata"][field]
        meta["resourceVersion"] = str(store.next_rv())
        obj.setdefault("apiVersion", current.get("apiVersion"))
        obj.setdefault("kind", current.get("kind"))
        store.objects[(group, version, plural)][(namespace, name)] = obj
        store.record((group, version, plural), "MODIFIED", obj)

    def do_PATCH(self):
        try:
            self.handle_patch()
        except UnsupportedBody as error:
            self.reply(*status(415, "UnsupportedMediaType", f"this test server reads JSON bodies only, not {error}"))

    def handle_patch(self):
        if not self.authorized():
            return
        parts, _ = self.route()
        target = self.resource(parts)
        if target is None or target == "unknown" or not target[4]:
            return self.reply(*status(404, "NotFound", "the server could not find the requested resource"))
        group, version, plural, namespace, name, _ = target
        content_type = (self.headers.get("Content-Type") or "").split(";")[0]
        patch = self.body()
        store = self.server.store
        with store.lock:
            current = store.objects.get((group, version, plural), {}).get((namespace, name))
            if current is None:
                return self.reply(*self.not_found(group, plural, name))
            if content_type == "application/merge-patch+json":
                updated = merge_patch(current, patch)
            elif content_type == "application/json-patch+json":
                try:
                    updated = jsonpatch.apply_patch(current, patch)
                except Exception as error:
                    return self.reply(*status(422, "Invalid", f"the JSON patch cannot be applied: {error}"))
            else:
                return self.reply(*status(415, "UnsupportedMediaType", f'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json'))
            updated.setdefault("metadata", {})["resourceVersion"] = current["metadata"]["resourceVersion"]
            self.store_update(group, version, plural, namespace, name, current, updated)
        self.reply(200, updated)

    def do_DELETE(self):
        if not self.authorized():
            return
        try:
            self.body()  # DeleteOptions, if sent: read so the connection stays usable
        except (UnsupportedBody, ValueError):
            pass
        parts, _ = self.route()
        target = self.resource(parts)
        if target is None or target == "unknown" or not target[4]:
            return self.reply(*status(404, "NotFound", "the server could not find the requested resource"))
        group, version, plural, namespace, name, _ = target
        store = self.server.store
        with store.lock:
            collection = store.objects.get((group, version, plural), {})
            current = collection.pop((namespace, name), None)
            if current is None:
                return self.reply(*self.not_found(group, plural, name))
            current["metadata"]["resourceVersion"] = str(store.next_rv())
            store.record((group, version, plural), "DELETED", current)
        self.reply(200, current)

    # -- discovery and test controls --
    def discovery(self, parts):
        kinds = self.kinds()
        if parts == ["api"]:
            self.reply(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": self.server.address}]})
        elif parts == ["apis"]:
            groups = {}
            for (group, version) in kinds:
                if group:
                    groups.setdefault(group, []).append(version)
            self.reply(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                 "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]}} for g, vs in sorted(groups.items())]})
        elif (parts[:1] == ["api"] and len(parts) == 2) or (parts[:1] == ["apis"] and len(parts) == 3):
            group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
            if (group, version) not in kinds:
                self.reply(*status(404, "NotFound", "the server could not find the requested resource"))
            else:
                self.reply(200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}" if group else version, "resources": [
                    {"name": p, "singularName": k.lower(), "namespaced": n, "kind": k, "shortNames": s,
                     "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]} for p, k, n, s in kinds[(group, version)]]})
        elif parts == ["version"]:
            self.reply(200, {"major": "1", "minor": "32", "gitVersion": "v1.32.0-nsm-test", "platform": "linux/amd64"})
        elif parts == ["__test", "compact"]:
            self.server.store.compact()
            self.reply(200, {"compacted": True})
        elif parts == ["__test", "expire-watches"]:
            # Every open watch ends with 410 Expired before it sends anything newer, as when the
            # API server's watch cache falls behind a compaction.
            with self.server.store.lock:
                self.server.store.expiry += 1
                self.server.store.lock.notify_all()
            self.reply(200, {"expired": True})
        elif parts == ["__test", "lists"]:
            self.reply(200, {"lists": self.server.store.lists})
        elif parts[:1] == ["openapi"]:
            self.reply(*status(404, "NotFound", "no OpenAPI documents on this test server"))
        else:
            return False
        return True


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


def make_certificates(directory):
    """A CA and a server certificate for 127.0.0.1, ::1 and localhost, with openssl."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)
    ca_key, ca_crt = f"{directory}/ca.key", f"{directory}/ca.crt"
    key, csr, crt, ext = (f"{directory}/server.{x}" for x in ("key", "csr", "crt", "ext"))
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", ca_key, "-out", ca_crt,
        "-days", "2", "-subj", "/CN=nsm-test-apiserver-ca")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=kube-apiserver")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext)
    return ca_crt, crt, key


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--token", default="test-token")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--watch-seconds", type=float, default=1800, help="end every watch after this long")
    parser.add_argument("--bookmark-seconds", type=float, default=1.0)
    parser.add_argument("--history", type=int, default=10000, help="events kept for watches")
    parser.add_argument("--service-cidr", default="10.96.0.0/12", help="the service range, comma-separated for dual stack")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    ca, crt, key = make_certificates(args.dir)
    server = Server(("127.0.0.1", args.port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(crt, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.store = Store(args.history)
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
