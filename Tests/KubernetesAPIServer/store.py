"""The test API server's storage, selectors and patches (see apiserver.py)."""
import copy, json, os, re, threading

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
    ("apps", "v1"): [("deployments", "Deployment", True, ["deploy"]), ("daemonsets", "DaemonSet", True, ["ds"]),
                     ("statefulsets", "StatefulSet", True, ["sts"]), ("replicasets", "ReplicaSet", True, ["rs"])],
    ("batch", "v1"): [("jobs", "Job", True, []), ("cronjobs", "CronJob", True, ["cj"])],
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

    def __init__(self, history, state=None):
        self.lock = threading.Condition()
        self.state = state         # a file that keeps the objects across restarts, as etcd does
        self.rv = 1
        self.objects = {}          # (group, version, plural) -> {(namespace, name): object}
        self.events = []           # (rv, key, type, object)
        self.history = history
        self.oldest = 1            # events before this rv are forgotten
        self.crds = {}             # (group, version) -> [(plural, kind, namespaced, shortNames, columns)]
        self.expiry = 0            # bumped to end every open watch with 410 Expired
        self.lists = 0             # LIST calls served (tests count relists)
        if state and os.path.exists(state):
            self.load()

    def next_rv(self):
        self.rv += 1
        return self.rv

    def load(self):
        """Objects and the resourceVersion counter as the last run left them. Like a restarted
        kube-apiserver, its watch history starts empty: a watch from an older version gets 410."""
        with open(self.state) as f:
            saved = json.load(f)
        self.rv = saved["resourceVersion"]
        self.oldest = self.rv + 1
        for entry in saved["objects"]:
            group, version, plural, namespace = entry["group"], entry["version"], entry["plural"], entry["namespace"]
            obj = entry["object"]
            self.objects.setdefault((group, version, plural), {})[(namespace, obj["metadata"]["name"])] = obj
            if plural == "customresourcedefinitions":
                self.register_crd(obj)

    def save(self):
        """Every object, written through on each change (called with the lock held)."""
        if not self.state:
            return
        entries = [{"group": g, "version": v, "plural": p, "namespace": ns, "object": obj}
                   for (g, v, p), collection in self.objects.items() for (ns, _), obj in collection.items()]
        temporary = self.state + ".tmp"
        with open(temporary, "w") as f:
            json.dump({"resourceVersion": self.rv, "objects": entries}, f)
        os.replace(temporary, self.state)

    def register_crd(self, crd):
        """Serves the CRD's versions under its group (called with the lock held)."""
        spec = crd.get("spec", {})
        names = spec.get("names", {})
        for v in spec.get("versions", []):
            if v.get("served", True):
                columns = [{"name": c["name"], "type": c.get("type", "string"), "jsonPath": c["jsonPath"]} for c in v.get("additionalPrinterColumns", [])]
                entries = self.crds.setdefault((spec["group"], v["name"]), [])
                entries[:] = [e for e in entries if e[0] != names["plural"]]
                entries.append((names["plural"], names["kind"], spec.get("scope", "Namespaced") == "Namespaced", names.get("shortNames", []), columns))

    def record(self, key, kind, obj):
        self.save()
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
