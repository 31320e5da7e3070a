"""Discovery (/api, /apis, resource lists), /version and the test controls (see apiserver.py)."""
from store import status


class Discovery:
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
