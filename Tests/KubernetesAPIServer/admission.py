"""Admission webhooks as kube-apiserver calls them (see apiserver.py and
https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/):
on CREATE and UPDATE, every MutatingWebhookConfiguration's webhooks whose rules and
namespaceSelector match are called in order with an admission.k8s.io/v1 AdmissionReview over
HTTPS (verified with the configuration's caBundle; `clientConfig.url` only — this server cannot
resolve Services), their JSONPatch applied; then every ValidatingWebhookConfiguration's webhooks
see the mutated object. A denial becomes `admission webhook "NAME" denied the request: MESSAGE`
with the webhook's code; a webhook that cannot be called fails the request when its
failurePolicy is Fail and is skipped when Ignore; warnings become `Warning: 299` headers."""
import base64, copy, json, ssl, urllib.error, urllib.request, uuid

from store import matches_labels, status

try:
    import jsonpatch
except ImportError:  # pragma: no cover
    jsonpatch = None


def selector_matches(selector, labels):
    """A LabelSelector (matchLabels, matchExpressions) against a label map."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


class Admission:
    def namespace_labels(self, namespace):
        """A namespace's labels, with the kubernetes.io/metadata.name label the API server sets."""
        with self.server.store.lock:
            obj = self.server.store.objects.get(("", "v1", "namespaces"), {}).get((None, namespace))
        labels = dict((obj or {}).get("metadata", {}).get("labels") or {})
        labels["kubernetes.io/metadata.name"] = namespace
        return labels

    def matching(self, plural_of_config, operation, group, version, plural, namespace, obj):
        with self.server.store.lock:
            configurations = [copy.deepcopy(c) for _, c in sorted(self.server.store.objects.get(("admissionregistration.k8s.io", "v1", plural_of_config), {}).items())]
        hooks = []
        for configuration in configurations:
            for hook in configuration.get("webhooks") or []:
                if not any(self.rule_matches(rule, operation, group, version, plural, namespace) for rule in hook.get("rules") or []):
                    continue
                if namespace is not None and not selector_matches(hook.get("namespaceSelector"), self.namespace_labels(namespace)):
                    continue
                if plural == "namespaces" and not selector_matches(hook.get("namespaceSelector"), {**((obj.get("metadata") or {}).get("labels") or {}), "kubernetes.io/metadata.name": (obj.get("metadata") or {}).get("name", "")}):
                    continue
                if not selector_matches(hook.get("objectSelector"), (obj.get("metadata") or {}).get("labels") or {}):
                    continue
                hooks.append(hook)
        return hooks

    @staticmethod
    def rule_matches(rule, operation, group, version, plural, namespace):
        def within(values, value):
            return "*" in values or value in values
        scope = rule.get("scope", "*")
        if scope == "Namespaced" and namespace is None or scope == "Cluster" and namespace is not None:
            return False
        return (within(rule.get("operations") or [], operation) and within(rule.get("apiGroups") or [], group)
                and within(rule.get("apiVersions") or [], version) and within(rule.get("resources") or [], plural))

    def admit(self, operation, group, version, plural, namespace, obj, old=None, dry_run=False):
        """Runs the webhooks; returns (object, None) or (None, (code, Status))."""
        kind = self.kind_of(group, version, plural)
        self.warnings = getattr(self, "warnings", [])
        for mutating in (True, False):
            for hook in self.matching("mutatingwebhookconfigurations" if mutating else "validatingwebhookconfigurations",
                                      operation, group, version, plural, namespace, obj):
                request = {"uid": str(uuid.uuid4()), "kind": {"group": group, "version": version, "kind": kind},
                           "resource": {"group": group, "version": version, "resource": plural},
                           "requestKind": {"group": group, "version": version, "kind": kind},
                           "requestResource": {"group": group, "version": version, "resource": plural},
                           "name": (obj.get("metadata") or {}).get("name", ""), "operation": operation,
                           "userInfo": {"username": "tester", "groups": ["system:authenticated"]},
                           "object": obj, "oldObject": old, "dryRun": dry_run,
                           "options": {"kind": "CreateOptions" if operation == "CREATE" else "UpdateOptions", "apiVersion": "meta.k8s.io/v1"}}
                if namespace is not None:
                    request["namespace"] = namespace
                try:
                    response = self.call(hook, request)
                except Exception as error:  # unreachable, timed out, not an AdmissionReview
                    if hook.get("failurePolicy", "Fail") == "Ignore":
                        continue
                    return None, status(500, "InternalError", f'Internal error occurred: failed calling webhook "{hook["name"]}": {error}')
                self.warnings += response.get("warnings") or []
                if response.get("uid") != request["uid"]:
                    return None, status(500, "InternalError", f'Internal error occurred: webhook "{hook["name"]}" answered for another request uid')
                if not response.get("allowed"):
                    answer = response.get("status") or {}
                    code = answer.get("code") or 403
                    message = answer.get("message") or ""
                    return None, status(code, answer.get("reason") or "Forbidden", f'admission webhook "{hook["name"]}" denied the request: {message}')
                if response.get("patch"):
                    if not mutating:
                        return None, status(500, "InternalError", f'Internal error occurred: validating webhook "{hook["name"]}" returned a patch')
                    if response.get("patchType") != "JSONPatch":
                        return None, status(500, "InternalError", f'Internal error occurred: webhook "{hook["name"]}" patchType {response.get("patchType")!r} is not JSONPatch')
                    try:
                        obj = jsonpatch.apply_patch(obj, json.loads(base64.b64decode(response["patch"])))
                    except Exception as error:
                        return None, status(500, "InternalError", f'Internal error occurred: webhook "{hook["name"]}" returned a patch that cannot be applied: {error}')
        return obj, None

    def call(self, hook, request):
        client = hook.get("clientConfig") or {}
        if "url" not in client:
            raise RuntimeError("this test API server calls clientConfig.url only (it cannot resolve Services)")
        context = ssl.create_default_context(cadata=base64.b64decode(client.get("caBundle") or "").decode() or None)
        timeout = hook.get("timeoutSeconds", 10)
        body = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}).encode()
        http = urllib.request.Request(f'{client["url"]}?timeout={timeout}s', data=body, method="POST",
                                      headers={"Content-Type": "application/json", "Accept": "application/json"})
        with urllib.request.urlopen(http, timeout=timeout, context=context) as answer:
            review = json.loads(answer.read())
        if review.get("kind") != "AdmissionReview" or "response" not in review:
            raise RuntimeError("the answer is not an AdmissionReview with a response")
        return review["response"]
