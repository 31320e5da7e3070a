"""Writes: create, update, patch, delete (see apiserver.py)."""
import copy, datetime, uuid

from store import NAME, UnsupportedBody, jsonpatch, merge_patch, status


class Writes:
    def do_POST(self):
        self.dispatch(self.create, on_object=False)

    def do_PUT(self):
        self.dispatch(self.replace, on_object=True)

    def do_PATCH(self):
        self.dispatch(self.patch, on_object=True)

    def do_DELETE(self):
        self.dispatch(self.remove, on_object=True)

    def dispatch(self, handler, on_object):
        """Checks the token and the path (a collection to create in, an object otherwise), then
        hands the target — (group, version, plural, namespace, name, namespaced) — to `handler`."""
        self.warnings = []
        try:
            if not self.authorized():
                return
            parts, query = self.route()
            target = self.resource(parts)
            if target is None or target == "unknown" or bool(target[4]) != on_object:
                return self.reply(*status(404, "NotFound", "the server could not find the requested resource"))
            handler(target, query)
        except UnsupportedBody as error:
            self.reply(*status(415, "UnsupportedMediaType", f"this test server reads JSON bodies only, not {error}"))

    def create(self, target, query):
        group, version, plural, namespace, _, namespaced = target
        obj = self.body()
        if not isinstance(obj, dict):
            return self.reply(*status(400, "BadRequest", "the body is not a JSON object"))
        meta = obj.setdefault("metadata", {})
        if namespaced:
            namespace = namespace or meta.get("namespace")
        obj, refusal = self.admit("CREATE", group, version, plural, namespace if namespaced else None, obj, dry_run=query.get("dryRun") == "All")
        if refusal:
            return self.reply(*refusal)
        meta = obj.setdefault("metadata", {})
        if plural == "namespaces" and not group:
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta.get("name", "")
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
            if plural == "customresourcedefinitions":
                store.register_crd(obj)
            store.record((group, version, plural), "ADDED", obj)
        self.reply(201, obj)

    def replace(self, target, query):
        group, version, plural, namespace, name, namespaced = target
        obj = self.body()
        resource = f"{plural}.{group}" if group else plural
        store = self.server.store
        with store.lock:
            old = copy.deepcopy(store.objects.get((group, version, plural), {}).get((namespace, name)))
        if old is not None:
            obj, refusal = self.admit("UPDATE", group, version, plural, namespace, obj, old, dry_run=query.get("dryRun") == "All")
            if refusal:
                return self.reply(*refusal)
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

    def patch(self, target, query):
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
                return self.reply(*status(415, "UnsupportedMediaType", 'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json'))
            updated.setdefault("metadata", {})["resourceVersion"] = current["metadata"]["resourceVersion"]
            self.store_update(group, version, plural, namespace, name, current, updated)
        self.reply(200, updated)

    def remove(self, target, query):
        try:
            options = self.body() or {}  # DeleteOptions, if sent
        except (UnsupportedBody, ValueError):
            options = {}
        wanted = ((options.get("preconditions") or {}) if isinstance(options, dict) else {}).get("resourceVersion")
        group, version, plural, namespace, name, _ = target
        store = self.server.store
        with store.lock:
            collection = store.objects.get((group, version, plural), {})
            current = collection.get((namespace, name))
            if current is None:
                return self.reply(*self.not_found(group, plural, name))
            if wanted and wanted != current["metadata"]["resourceVersion"]:
                resource = f"{plural}.{group}" if group else plural
                return self.reply(*status(409, "Conflict", f'Operation cannot be fulfilled on {resource} "{name}": Precondition failed: ResourceVersion in precondition: {wanted}, ResourceVersion in object meta: {current["metadata"]["resourceVersion"]}', {"name": name, "group": group, "kind": plural}))
            collection.pop((namespace, name))
            current["metadata"]["resourceVersion"] = str(store.next_rv())
            store.record((group, version, plural), "DELETED", current)
        self.reply(200, current)

    # -- discovery and test controls --
