"""Reads: get, list (pages, selectors, Table), watch (see apiserver.py)."""
import base64, copy, json, ssl, time

from store import jsonpath, matches_fields, matches_labels, status


class Reads:
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
