"""A fake Kubernetes API server for end-to-end tests and the benchmark.

It speaks real HTTPS on 127.0.0.1 (its own CA and server certificate from ``trustme``), checks a bearer
token (or a client certificate issued by its CA), and serves from memory: nodes, pods, namespaces,
events, configmaps, deployments (apps/v1), CustomResourceDefinitions and the custom resources of the
CRDs that are loaded (real KServe CRD YAMLs in tests/fixtures/crds). Like a real API server it
paginates lists with ``limit``/``continue``, filters with label and field selectors, applies JSON merge
patches and JSON patches with ``resourceVersion`` preconditions and ``dryRun=All``, and answers errors
with ``Status`` objects whose messages have the real server's shape. Tests can inject faults and read a
log of the requests that were made (every header line, the client's address, the TLS server name).

Options for connection tests: ``require_client_cert`` (refuse handshakes without a client certificate
from its CA), ``server_names`` (a certificate for other names, for ``--tls-server-name``), ``gzip``
(compress answers when asked) and ``chunked`` (stream bodies chunked like kube-apiserver); 403 messages
name the impersonated user (``Impersonate-User``) like the real server.

Real-server shapes used here: k8s.io/apimachinery/pkg/api/errors (NewForbidden, NewNotFound,
NewConflict messages), k8s.io/apiserver/pkg/endpoints/handlers/patch.go (merge/JSON patch, dry run).
"""

from __future__ import annotations

import base64
import bisect
import copy
import gzip
import hashlib
import json
import os
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import trustme
import yaml

FIXTURES = Path(__file__).parent / "fixtures" / "crds"
CRD_FILES = {
    "inferenceservices": "serving.kserve.io_inferenceservices.yaml",
    "servingruntimes": "serving.kserve.io_servingruntimes.yaml",
    "clusterservingruntimes": "serving.kserve.io_clusterservingruntimes.yaml",
    "llminferenceservices": "serving.kserve.io_llminferenceservices.yaml",
}

Json = dict[str, Any]


# --------------------------------------------------------------------------------------------------------
# CRD fixtures (parsing 2 MB of YAML takes a second: cache the JSON form on disk, keyed by content hash)


@cache
def _crd_json(path: str) -> bytes:
    raw = Path(path).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()[:24]
    cache_dir = Path(tempfile.gettempdir()) / "kserve-mn-fakeapi-crds"
    cached = cache_dir / f"{digest}.json"
    if cached.is_file():
        return cached.read_bytes()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    encoded = json.dumps(yaml.load(raw, Loader=loader)).encode()
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(encoded)
    os.replace(tmp, cached)
    return encoded


def load_crd_fixture(version: str, resource: str) -> Json:
    """A real KServe CRD from tests/fixtures/crds/<version>/ (version: v0.14.1, v0.15.0, master)."""
    path = FIXTURES / version / CRD_FILES[resource]
    if not path.is_file():
        raise FileNotFoundError(f"no CRD fixture {path}")
    doc: Json = json.loads(_crd_json(str(path)))
    return doc


# --------------------------------------------------------------------------------------------------------
# resources


@dataclass(frozen=True)
class ResourceType:
    group: str
    plural: str
    kind: str
    namespaced: bool
    versions: tuple[str, ...]
    singular: str = ""
    short_names: tuple[str, ...] = ()
    crd: str | None = None
    """Name of the CRD serving it; None for built-in resources."""

    @property
    def qualified(self) -> str:
        """``pods`` or ``inferenceservices.serving.kserve.io`` (the API's error-message form)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def api_version(self, version: str | None = None) -> str:
        v = version or self.versions[0]
        return f"{self.group}/{v}" if self.group else v


BUILTINS = (
    ResourceType("", "nodes", "Node", False, ("v1",), "node", ("no",)),
    ResourceType("", "pods", "Pod", True, ("v1",), "pod", ("po",)),
    ResourceType("", "namespaces", "Namespace", False, ("v1",), "namespace", ("ns",)),
    ResourceType("", "events", "Event", True, ("v1",), "event", ("ev",)),
    ResourceType("", "configmaps", "ConfigMap", True, ("v1",), "configmap", ("cm",)),
    ResourceType("apps", "deployments", "Deployment", True, ("v1",), "deployment", ("deploy",)),
    ResourceType(
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        ("v1",),
        "customresourcedefinition",
        ("crd", "crds"),
    ),
)

# Field selectors the real API server supports (pkg/registry/core/pod/strategy.go PodToSelectableFields,
# pkg/registry/core/event/strategy.go ToSelectableFields); every resource has metadata.name/namespace.
FIELD_SELECTORS: dict[str, dict[str, Callable[[Json], str]]] = {
    "pods": {
        "spec.nodeName": lambda o: str(o.get("spec", {}).get("nodeName") or ""),
        "spec.restartPolicy": lambda o: str(o.get("spec", {}).get("restartPolicy") or ""),
        "spec.schedulerName": lambda o: str(o.get("spec", {}).get("schedulerName") or ""),
        "spec.serviceAccountName": lambda o: str(o.get("spec", {}).get("serviceAccountName") or ""),
        "status.phase": lambda o: str(o.get("status", {}).get("phase") or ""),
        "status.podIP": lambda o: str(o.get("status", {}).get("podIP") or ""),
        "status.nominatedNodeName": lambda o: str(o.get("status", {}).get("nominatedNodeName") or ""),
    },
    "events": {
        **{
            f"involvedObject.{k}": (lambda key: lambda o: str(o.get("involvedObject", {}).get(key) or ""))(k)
            for k in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
        },
        "reason": lambda o: str(o.get("reason") or ""),
        "reportingComponent": lambda o: str(o.get("reportingComponent") or ""),
        "source": lambda o: str(o.get("source", {}).get("component") or ""),
        "type": lambda o: str(o.get("type") or ""),
    },
    "nodes": {"spec.unschedulable": lambda o: str(bool(o.get("spec", {}).get("unschedulable"))).lower()},
    "namespaces": {"status.phase": lambda o: str(o.get("status", {}).get("phase") or "")},
}
_COMMON_FIELDS: dict[str, Callable[[Json], str]] = {
    "metadata.name": lambda o: str(o.get("metadata", {}).get("name") or ""),
    "metadata.namespace": lambda o: str(o.get("metadata", {}).get("namespace") or ""),
}


class ApiError(Exception):
    """An error answer with a Status body."""

    def __init__(self, code: int, reason: str, message: str, details: Json | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> Json:
        doc: Json = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            doc["details"] = self.details
        return doc


@dataclass
class Fault:
    method: str
    path_prefix: str
    status: int
    message: str | None
    remaining: int | None
    """How many more requests it answers; None: all of them."""
    delay: float = 0.0
    """Seconds to wait before answering (status 0: then answer normally)."""


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int = 0
    header_items: list[tuple[str, str]] = field(default_factory=list)
    """Every header line in order (repeated headers such as Impersonate-Group appear once each)."""
    peer: tuple[str, int] | None = None
    """The client's address: the same port on two requests means a reused (keep-alive) connection."""
    sni: str | None = None
    """The server name the client sent in its TLS hello (None: none sent, e.g. for an IP address)."""

    def header(self, name: str) -> str | None:
        """A request header, case-insensitively (clients differ: ``authorization`` vs ``Authorization``)."""
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)

    def header_values(self, name: str) -> list[str]:
        """Every value of a repeated header, in order."""
        lowered = name.lower()
        return [v for k, v in self.header_items if k.lower() == lowered]

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class _Entry:
    obj: Json
    raw: bytes


@dataclass
class _Route:
    kind: str
    """``discovery``, ``collection`` (list or a named object) or ``unknown``."""
    rtype: ResourceType | None = None
    version: str = ""
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    doc: Json | None = None


@dataclass
class _Store:
    entries: dict[tuple[str, str], _Entry] = field(default_factory=dict)
    keys: list[tuple[str, str]] = field(default_factory=list)


def _key(obj: Json) -> tuple[str, str]:
    meta = obj.get("metadata", {})
    return str(meta.get("namespace") or ""), str(meta["name"])


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def json_patch(doc: Any, ops: Any) -> Any:
    """RFC 6902 JSON patch (add, remove, replace, test, move, copy)."""
    if not isinstance(ops, list):
        raise ValueError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(doc)

    def parent(parts: list[str]) -> tuple[Any, str]:
        node = doc
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node, parts[-1]

    def get(parts: list[str]) -> Any:
        node = doc
        for part in parts:
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def remove(parts: list[str]) -> Any:
        node, last = parent(parts)
        return node.pop(int(last)) if isinstance(node, list) else node.pop(last)

    def add(parts: list[str], value: Any) -> None:
        nonlocal doc
        if not parts:
            doc = value
            return
        node, last = parent(parts)
        if isinstance(node, list):
            node.insert(len(node) if last == "-" else int(last), value)
        else:
            node[last] = value

    for op in ops:
        name = op.get("op")
        parts = _pointer(op.get("path", ""))
        try:
            if name == "add":
                add(parts, copy.deepcopy(op["value"]))
            elif name == "remove":
                remove(parts)
            elif name == "replace":
                get(parts)
                remove(parts)
                add(parts, copy.deepcopy(op["value"]))
            elif name == "test":
                if get(parts) != op["value"]:
                    raise ValueError(f"test operation failed at {op.get('path')}")
            elif name in ("move", "copy"):
                source = _pointer(op["from"])
                value = copy.deepcopy(get(source))
                if name == "move":
                    remove(source)
                add(parts, value)
            else:
                raise ValueError(f"unknown JSON patch operation {name!r}")
        except (KeyError, IndexError) as err:
            raise ValueError(f"JSON patch {name} {op.get('path')}: path not found ({err})") from None
    return doc


# --------------------------------------------------------------------------------------------------------
# selectors


def _split_terms(text: str) -> list[str]:
    terms, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        terms.append(current.strip())
    return terms


def _label_ok(labels: dict[str, str], op: str, key: str, values: frozenset[str]) -> bool:
    if op == "in":
        return key in labels and labels[key] in values
    if op == "notin":
        return labels.get(key) not in values
    if op == "=":
        return labels.get(key) in values
    if op == "!=":
        return labels.get(key) not in values
    if op == "exists":
        return key in labels
    return key not in labels  # "!"


def label_matcher(selector: str) -> Callable[[dict[str, str]], bool]:
    """labels.Parse: ``k=v``, ``k==v``, ``k!=v``, ``k``, ``!k``, ``k in (a,b)``, ``k notin (a,b)``."""
    reqs: list[tuple[str, str, frozenset[str]]] = []
    for term in _split_terms(selector):
        if " notin " in term or " in " in term:
            op = "notin" if " notin " in term else "in"
            key, _, rest = term.partition(f" {op} ")
            rest = rest.strip()
            if not (rest.startswith("(") and rest.endswith(")")):
                raise ApiError(400, "BadRequest", f"unable to parse requirement: {term!r}")
            reqs.append((op, key.strip(), frozenset(v.strip() for v in rest[1:-1].split(",") if v.strip())))
        elif "!=" in term:
            key, value = (x.strip() for x in term.split("!=", 1))
            reqs.append(("!=", key, frozenset([value])))
        elif "=" in term:
            key, value = (x.strip() for x in term.split("==" if "==" in term else "=", 1))
            reqs.append(("=", key, frozenset([value])))
        elif term.startswith("!"):
            reqs.append(("!", term[1:].strip(), frozenset()))
        elif term and all(c.isalnum() or c in "-_./" for c in term):
            reqs.append(("exists", term, frozenset()))
        else:
            raise ApiError(400, "BadRequest", f"unable to parse requirement: {term!r}")

    def matches(labels: dict[str, str]) -> bool:
        return all(_label_ok(labels, op, key, values) for op, key, values in reqs)

    return matches


def field_matcher(selector: str, rtype: ResourceType) -> Callable[[Json], bool]:
    """fields.ParseSelector with ``=``, ``==`` and ``!=``, limited to the resource's selectable fields."""
    known = {**_COMMON_FIELDS, **FIELD_SELECTORS.get(rtype.plural, {})}
    reqs: list[tuple[Callable[[Json], str], str, bool]] = []
    for term in (t for t in selector.split(",") if t.strip()):
        for op in ("!=", "==", "="):
            if op in term:
                name, value = term.split(op, 1)
                break
        else:
            raise ApiError(400, "BadRequest", f"invalid selector: '{selector}'; can't understand '{term}'")
        name = name.strip()
        getter = known.get(name)
        if getter is None:
            if rtype.crd:
                message = (
                    f'"{name}" is not a known field selector: only "metadata.name", "metadata.namespace"'
                )
            else:
                message = f"field label not supported: {name}"
            raise ApiError(400, "BadRequest", message)
        reqs.append((getter, value, op == "!="))

    def matches(obj: Json) -> bool:
        return all(
            (getter(obj) != value) if negate else (getter(obj) == value) for getter, value, negate in reqs
        )

    return matches


# --------------------------------------------------------------------------------------------------------
# structural schema checks (the subset a patch can get wrong: types)


def schema_errors(value: Any, schema: Json, path: str) -> Iterator[str]:
    if schema.get("x-kubernetes-int-or-string"):
        if not isinstance(value, int | str) or isinstance(value, bool):
            yield f'{path}: Invalid value: "{type(value).__name__}": {path} in body must be of type int-or-string'
        return
    expected = schema.get("type")
    checks = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
    }
    if value is None:
        return
    if expected in checks and not checks[expected](value):
        shown = json.dumps(value)[:40]
        yield f"{path}: Invalid value: {shown}: {path} in body must be of type {expected}: {shown}"
        return
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, sub in value.items():
            if key in props:
                yield from schema_errors(sub, props[key], f"{path}.{key}" if path else key)
            elif isinstance(extra, dict):
                yield from schema_errors(sub, extra, f"{path}.{key}" if path else key)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, sub in enumerate(value):
            yield from schema_errors(sub, schema["items"], f"{path}[{i}]")


# --------------------------------------------------------------------------------------------------------
# the server


class FakeKubeAPI:
    """An in-memory Kubernetes API server on https://127.0.0.1:<port>.

    >>> api = FakeKubeAPI(); api.start(); api.add(node); ...; api.stop()
    """

    def __init__(
        self,
        token: str = "fake-token-0123456789",
        *,
        user: str = "system:serviceaccount:x:y",
        require_client_cert: bool = False,
        server_names: tuple[str, ...] = ("127.0.0.1", "localhost"),
    ) -> None:
        self.token = token
        self.user = user
        """The user named in 403 messages (the impersonated user when the request impersonates)."""
        self.require_client_cert = require_client_cert
        """Refuse TLS handshakes without a client certificate from our CA (like --client-ca-file)."""
        self.ca = trustme.CA()
        self.server_names = server_names
        """The names in the server certificate: another name than 127.0.0.1 needs --tls-server-name."""
        self.server_cert = self.ca.issue_cert(*server_names)
        self.gzip = False
        """Compress answers for clients that send ``Accept-Encoding: gzip`` (as kube-apiserver does)."""
        self.chunked = False
        """Send bodies with ``Transfer-Encoding: chunked`` (kube-apiserver streams lists that way)."""
        self.log: list[LoggedRequest] = []
        self.faults: list[Fault] = []
        self.git_version = "v1.31.0"
        self._lock = threading.RLock()
        self._stores: dict[tuple[str, str], _Store] = {}
        self._types: dict[tuple[str, str], ResourceType] = {(t.group, t.plural): t for t in BUILTINS}
        self._rv = 1000
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------------------

    def start(self) -> FakeKubeAPI:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server_cert.configure_cert(context)
        # Client certificates are optional: a valid one from our CA authenticates like a token.
        context.verify_mode = ssl.CERT_REQUIRED if self.require_client_cert else ssl.CERT_OPTIONAL
        self.ca.configure_trust(context)

        def remember_sni(sock: ssl.SSLObject | ssl.SSLSocket, name: str | None, _: ssl.SSLContext) -> None:
            sock.kserve_mn_sni = name  # type: ignore[union-attr]

        context.sni_callback = remember_sni
        handler = type("Handler", (_Handler,), {"api": self})
        server = _TLSServer(("127.0.0.1", 0), handler, context)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="fake-kube-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeKubeAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    # -- kubeconfig -------------------------------------------------------------------------------------

    def kubeconfig_dict(
        self,
        *,
        context: str = "fake",
        cluster: str = "fake-cluster",
        user: str = "fake-user",
        namespace: str | None = "team-a",
        token: str | None = None,
        ca_pem: bytes | None = None,
        server: str | None = None,
    ) -> Json:
        """A kubeconfig with token auth that trusts this server's CA (``ca_pem`` overrides the CA)."""
        ctx: Json = {"cluster": cluster, "user": user}
        if namespace:
            ctx["namespace"] = namespace
        ca = ca_pem if ca_pem is not None else self.ca.cert_pem.bytes()
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": context,
            "clusters": [
                {
                    "name": cluster,
                    "cluster": {
                        "server": server or self.url,
                        "certificate-authority-data": base64.b64encode(ca).decode(),
                    },
                }
            ],
            "contexts": [{"name": context, "context": ctx}],
            "users": [{"name": user, "user": {"token": token if token is not None else self.token}}],
            "preferences": {},
        }

    def write_kubeconfig(self, path: str | os.PathLike[str], **kwargs: Any) -> Path:
        """Write :meth:`kubeconfig_dict` to ``path`` (mode 0600, like kubectl)."""
        target = Path(path)
        target.write_text(yaml.safe_dump(self.kubeconfig_dict(**kwargs), sort_keys=False))
        target.chmod(0o600)
        return target

    def client_cert_user(self, name: str = "cert-user") -> dict[str, str]:
        """A kubeconfig ``user`` entry authenticating with a client certificate from our CA."""
        leaf = self.ca.issue_cert(f"{name}@example.com", common_name=name)
        return {
            "client-certificate-data": base64.b64encode(leaf.cert_chain_pems[0].bytes()).decode(),
            "client-key-data": base64.b64encode(leaf.private_key_pem.bytes()).decode(),
        }

    # -- objects ----------------------------------------------------------------------------------------

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _type_for(self, obj: Json) -> ResourceType:
        api_version = str(obj.get("apiVersion") or "")
        group = api_version.rpartition("/")[0] if "/" in api_version else ""
        kind = obj.get("kind")
        for rtype in self._types.values():
            if rtype.group == group and rtype.kind == kind:
                return rtype
        raise ValueError(f"no resource for {api_version} {kind}: load its CRD first (FakeKubeAPI.load_crd)")

    def _store(self, rtype: ResourceType) -> _Store:
        return self._stores.setdefault((rtype.group, rtype.plural), _Store())

    def add(self, *objects: Json) -> None:
        """Store objects as given (deep-copied), filling uid/resourceVersion/generation/timestamps."""
        with self._lock:
            for obj in objects:
                self._add(obj)

    def add_all(self, objects: Iterable[Json]) -> None:
        with self._lock:
            for obj in objects:
                self._add(obj)

    def _add(self, original: Json) -> None:
        obj = copy.deepcopy(original)
        if obj.get("kind") == "CustomResourceDefinition":
            self._register_crd(obj)
        rtype = self._type_for(obj)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name"):
            raise ValueError(f"{rtype.kind} without metadata.name")
        if rtype.namespaced:
            meta.setdefault("namespace", "default")
            if meta["namespace"] and not self.get("namespaces", meta["namespace"]):
                self._add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": meta["namespace"]}})
        else:
            meta.pop("namespace", None)
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        meta["resourceVersion"] = self._next_rv()
        if "spec" in obj and rtype.plural not in ("pods", "nodes", "namespaces"):
            meta.setdefault("generation", 1)
        if rtype.plural == "namespaces":
            obj.setdefault("status", {"phase": "Active"})
        self._put(rtype, obj)

    def _put(self, rtype: ResourceType, obj: Json) -> None:
        store = self._store(rtype)
        key = _key(obj)
        if key not in store.entries:
            bisect.insort(store.keys, key)
        store.entries[key] = _Entry(obj, json.dumps(obj, separators=(",", ":")).encode())

    def remove(self, resource: str, name: str, namespace: str | None = None) -> None:
        with self._lock:
            rtype = self._resolve(resource)
            store = self._store(rtype)
            key = (namespace or "", name)
            if store.entries.pop(key, None) is not None:
                store.keys.remove(key)

    def _resolve(self, resource: str) -> ResourceType:
        """``pods``, ``deployments.apps`` or ``inferenceservices.serving.kserve.io``."""
        plural, _, group = resource.partition(".")
        for rtype in self._types.values():
            if rtype.plural == plural and (not group or rtype.group == group):
                return rtype
        raise KeyError(resource)

    def get(self, resource: str, name: str, namespace: str | None = None) -> Json | None:
        """A deep copy of a stored object, or None."""
        with self._lock:
            try:
                rtype = self._resolve(resource)
            except KeyError:
                return None
            entry = self._store(rtype).entries.get((namespace or "", name))
            return copy.deepcopy(entry.obj) if entry else None

    def objects(self, resource: str) -> list[Json]:
        with self._lock:
            store = self._store(self._resolve(resource))
            return [copy.deepcopy(store.entries[k].obj) for k in store.keys]

    # -- CRDs -------------------------------------------------------------------------------------------

    def _register_crd(self, crd: Json) -> None:
        spec = crd["spec"]
        names = spec["names"]
        served = tuple(str(v["name"]) for v in spec.get("versions") or [] if v.get("served"))
        storage = [str(v["name"]) for v in spec.get("versions") or [] if v.get("storage")]
        versions = tuple(dict.fromkeys([*storage, *served]))
        rtype = ResourceType(
            spec["group"],
            names["plural"],
            names["kind"],
            spec.get("scope") == "Namespaced",
            versions,
            names.get("singular", ""),
            tuple(names.get("shortNames") or ()),
            crd=crd["metadata"]["name"],
        )
        self._types[(rtype.group, rtype.plural)] = rtype
        crd.setdefault(
            "status",
            {
                "acceptedNames": names,
                "storedVersions": storage,
                "conditions": [
                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"},
                ],
            },
        )

    def load_crd(self, version: str, resource: str) -> None:
        """Load one real KServe CRD fixture (``version``: v0.14.1, v0.15.0, master)."""
        self.add(load_crd_fixture(version, resource))

    def load_kserve_crds(self, version: str = "master", *, llmisvc: bool = False) -> None:
        """The InferenceService, ServingRuntime and ClusterServingRuntime CRDs of a KServe version."""
        for resource in ("inferenceservices", "servingruntimes", "clusterservingruntimes"):
            self.load_crd(version, resource)
        if llmisvc:
            self.load_crd("master", "llminferenceservices")

    def _crd_schema(self, rtype: ResourceType, version: str) -> Json | None:
        if not rtype.crd:
            return None
        entry = self._store(self._types[("apiextensions.k8s.io", "customresourcedefinitions")]).entries.get(
            ("", rtype.crd)
        )
        if entry is None:
            return None
        for v in entry.obj["spec"].get("versions") or []:
            if v.get("name") == version:
                schema = v.get("schema", {}).get("openAPIV3Schema")
                return schema if isinstance(schema, dict) else None
        return None

    # -- faults and log ---------------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        path_prefix: str,
        status: int,
        message: str | None = None,
        *,
        times: int | None = None,
    ) -> None:
        """Answer requests whose path starts with ``path_prefix`` with ``status`` (a real-looking Status
        body; 403 messages in the API server's format). ``times``: only the next N matching requests."""
        with self._lock:
            self.faults.append(Fault(method.upper(), path_prefix, status, message, times))

    def delay(self, method: str, path_prefix: str, seconds: float, *, times: int | None = None) -> None:
        """Answer matching requests normally, but only after ``seconds``."""
        with self._lock:
            self.faults.append(Fault(method.upper(), path_prefix, 0, None, times, seconds))

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def requests(self, method: str | None = None, path: str | None = None) -> list[LoggedRequest]:
        """Logged requests, optionally only one method and/or exactly one path."""
        with self._lock:
            return [
                r
                for r in self.log
                if (method is None or r.method == method.upper()) and (path is None or r.path == path)
            ]

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()

    def _fault_for(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.method in (method, "*") and path.startswith(fault.path_prefix):
                    if fault.remaining is not None:
                        if fault.remaining <= 0:
                            continue
                        fault.remaining -= 1
                    return fault
        return None

    # -- routing ----------------------------------------------------------------------------------------

    def route(self, path: str) -> _Route:
        parts = [unquote(p) for p in path.strip("/").split("/") if p]
        if parts == ["version"]:
            return _Route("discovery", doc=self._version_doc())
        if parts == ["api"]:
            return _Route("discovery", doc=self._api_versions())
        if parts == ["apis"]:
            return _Route("discovery", doc=self._api_groups())
        if parts and parts[0] == "api" and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts and parts[0] == "apis" and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        elif parts and parts[0] == "apis" and len(parts) == 2:
            doc = self._api_group(parts[1])
            return _Route("discovery", doc=doc) if doc else _Route("unknown")
        else:
            return _Route("unknown")
        with self._lock:
            served = [t for t in self._types.values() if t.group == group and version in t.versions]
        if not served:
            return _Route("unknown")
        if not rest:
            return _Route("discovery", doc=self._resource_list(group, version, served))
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        plural = rest[0]
        rtype = next((t for t in served if t.plural == plural), None)
        if rtype is None or len(rest) > 3 or (namespace is not None and not rtype.namespaced):
            return _Route("unknown")
        name = rest[1] if len(rest) >= 2 else None
        sub = rest[2] if len(rest) == 3 else None
        return _Route("collection", rtype, version, namespace, name, sub)

    def _version_doc(self) -> Json:
        major, minor = self.git_version.lstrip("v").split(".")[:2]
        return {
            "major": major,
            "minor": minor,
            "gitVersion": self.git_version,
            "gitCommit": "0" * 40,
            "gitTreeState": "clean",
            "buildDate": "2024-08-13T07:28:49Z",
            "goVersion": "go1.22.5",
            "compiler": "gc",
            "platform": "linux/amd64",
        }

    def _api_versions(self) -> Json:
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.port}"}
            ],
        }

    def _groups(self) -> dict[str, list[str]]:
        with self._lock:
            groups: dict[str, list[str]] = {}
            for rtype in self._types.values():
                if rtype.group:
                    versions = groups.setdefault(rtype.group, [])
                    versions.extend(v for v in rtype.versions if v not in versions)
            return groups

    def _group_doc(self, group: str, versions: list[str]) -> Json:
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": entries, "preferredVersion": entries[0]}

    def _api_groups(self) -> Json:
        groups = [self._group_doc(g, vs) for g, vs in self._groups().items()]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def _api_group(self, group: str) -> Json | None:
        versions = self._groups().get(group)
        if not versions:
            return None
        return {"kind": "APIGroup", "apiVersion": "v1", **self._group_doc(group, versions)}

    def _resource_list(self, group: str, version: str, served: list[ResourceType]) -> Json:
        resources = [
            {
                "name": t.plural,
                "singularName": t.singular,
                "namespaced": t.namespaced,
                "kind": t.kind,
                "verbs": ["get", "list", "patch"],
                **({"shortNames": list(t.short_names)} if t.short_names else {}),
            }
            for t in served
        ]
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources,
        }

    # -- verbs ------------------------------------------------------------------------------------------

    def forbidden(self, method: str, route: _Route, user: str | None = None) -> ApiError:
        """403 in the API server's words (k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go),
        naming ``user`` (the impersonated user) or the server's user."""
        user = user or self.user
        rtype = route.rtype
        if rtype is None:
            return ApiError(403, "Forbidden", f'forbidden: User "{user}" cannot {method.lower()} path')
        verb = {"GET": "get" if route.name else "list", "PATCH": "patch"}.get(method, method.lower())
        subject = f'{rtype.qualified} "{route.name}"' if route.name else rtype.qualified
        scope = f'in the namespace "{route.namespace}"' if route.namespace else "at the cluster scope"
        details: Json = {"group": rtype.group, "kind": rtype.plural}
        if route.name:
            details["name"] = route.name
        return ApiError(
            403,
            "Forbidden",
            f'{subject} is forbidden: User "{user}" cannot {verb} resource "{rtype.plural}" '
            f'in API group "{rtype.group}" {scope}',
            details,
        )

    def not_found(self, rtype: ResourceType, name: str) -> ApiError:
        return ApiError(
            404,
            "NotFound",
            f'{rtype.qualified} "{name}" not found',
            {"name": name, "group": rtype.group, "kind": rtype.plural}
            if rtype.group
            else {"name": name, "kind": rtype.plural},
        )

    def list_bytes(self, route: _Route, query: dict[str, list[str]]) -> bytes:
        rtype = route.rtype
        assert rtype is not None
        if query.get("watch", ["false"])[0] in ("true", "1"):
            raise ApiError(405, "MethodNotAllowed", "watch is not supported by the fake API server")
        label_sel = query.get("labelSelector", [""])[0]
        field_sel = query.get("fieldSelector", [""])[0]
        labels_ok = label_matcher(label_sel) if label_sel else None
        fields_ok = field_matcher(field_sel, rtype) if field_sel else None
        try:
            limit = int(query.get("limit", ["0"])[0] or 0)
        except ValueError:
            raise ApiError(400, "BadRequest", "limit must be an integer") from None
        token = query.get("continue", [""])[0]
        with self._lock:
            store = self._store(rtype)
            rv = str(self._rv)
            start = 0
            if token:
                try:
                    state = json.loads(base64.urlsafe_b64decode(token.encode()))
                    after = (str(state["start"][0]), str(state["start"][1]))
                except (ValueError, KeyError, TypeError, IndexError):
                    raise ApiError(
                        400, "BadRequest", "continue key is not valid: incorrect encoded start key"
                    ) from None
                start = bisect.bisect_right(store.keys, after)
                rv = str(state.get("rv", rv))
            chunks: list[bytes] = []
            last: tuple[str, str] | None = None
            more = False
            keys = store.keys
            for index in range(start, len(keys)):
                key = keys[index]
                if route.namespace is not None and key[0] != route.namespace:
                    continue
                entry = store.entries[key]
                if labels_ok is not None and not labels_ok(entry.obj.get("metadata", {}).get("labels") or {}):
                    continue
                if fields_ok is not None and not fields_ok(entry.obj):
                    continue
                if limit and len(chunks) == limit:
                    more = True
                    break
                chunks.append(entry.raw)
                last = key
        meta: Json = {"resourceVersion": rv}
        if more and last is not None:
            meta["continue"] = base64.urlsafe_b64encode(
                json.dumps({"v": "meta.k8s.io/v1", "rv": int(rv), "start": list(last)}).encode()
            ).decode()
        head = {"kind": f"{rtype.kind}List", "apiVersion": rtype.api_version(route.version), "metadata": meta}
        encoded_head = json.dumps(head, separators=(",", ":")).encode()
        return encoded_head[:-1] + b',"items":[' + b",".join(chunks) + b"]}"

    def get_bytes(self, route: _Route) -> bytes:
        rtype = route.rtype
        assert rtype is not None and route.name is not None
        with self._lock:
            entry = self._store(rtype).entries.get((route.namespace or "", route.name))
            if entry is None:
                raise self.not_found(rtype, route.name)
            return entry.raw

    def patch(self, route: _Route, content_type: str, body: bytes, query: dict[str, list[str]]) -> bytes:
        rtype = route.rtype
        assert rtype is not None and route.name is not None
        dry_run = query.get("dryRun", [])
        if dry_run and dry_run != ["All"]:
            raise ApiError(400, "BadRequest", f'Invalid value: {dry_run!r}: supported values: "All"')
        manager = query.get("fieldManager", [""])[0]
        if len(manager) > 128:
            raise ApiError(422, "Invalid", "fieldManager: Too long: may not be longer than 128")
        media = content_type.split(";")[0].strip().lower()
        accepted = ["application/json-patch+json", "application/merge-patch+json"]
        if not rtype.crd:
            accepted.append("application/strategic-merge-patch+json")
        if media not in accepted:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types include: {', '.join(accepted)}",
            )
        try:
            patch_doc = json.loads(body or b"null")
        except ValueError as err:
            raise ApiError(400, "BadRequest", f"error decoding patch: {err}") from None
        with self._lock:
            store = self._store(rtype)
            key = (route.namespace or "", route.name)
            entry = store.entries.get(key)
            if entry is None:
                raise self.not_found(rtype, route.name)
            current = entry.obj
            try:
                if media == "application/json-patch+json":
                    result = json_patch(current, patch_doc)
                else:
                    if not isinstance(patch_doc, dict):
                        raise ValueError("a merge patch must be a JSON object")
                    result = merge_patch(current, patch_doc)
            except ValueError as err:
                code, reason = (
                    (422, "Invalid") if "test operation failed" in str(err) else (400, "BadRequest")
                )
                raise ApiError(code, reason, str(err)) from None
            if not isinstance(result, dict):
                raise ApiError(400, "BadRequest", "the patch does not produce an object")
            self._validate(rtype, route, current, result)
            current_rv = current["metadata"]["resourceVersion"]
            wanted_rv = (result.get("metadata") or {}).get("resourceVersion")
            if wanted_rv and wanted_rv != current_rv:
                raise ApiError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {rtype.qualified} "{route.name}": the object has been '
                    "modified; please apply your changes to the latest version and try again",
                    {"name": route.name, "group": rtype.group, "kind": rtype.plural},
                )
            result.setdefault("metadata", {})["resourceVersion"] = current_rv
            if result == current:  # no-op patches do not bump resourceVersion on a real server
                return entry.raw
            if dry_run:
                return json.dumps(result, separators=(",", ":")).encode()
            result["metadata"]["resourceVersion"] = self._next_rv()
            if result.get("spec") != current.get("spec") and "generation" in current["metadata"]:
                result["metadata"]["generation"] = int(current["metadata"]["generation"]) + 1
            self._put(rtype, result)
            return store.entries[key].raw

    def _validate(self, rtype: ResourceType, route: _Route, current: Json, result: Json) -> None:
        meta = result.get("metadata") or {}
        if meta.get("name") != route.name:
            raise ApiError(
                400,
                "BadRequest",
                f"the name of the object ({meta.get('name')}) does not match the name on the URL ({route.name})",
            )
        if rtype.namespaced and meta.get("namespace") != route.namespace:
            raise ApiError(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace sent on the request",
            )
        if result.get("kind") != current.get("kind") or result.get("apiVersion") != current.get("apiVersion"):
            raise ApiError(400, "BadRequest", "kind and apiVersion may not be changed by a patch")
        schema = self._crd_schema(rtype, route.version)
        if schema is None:
            return
        skip = ("metadata", "apiVersion", "kind")
        body = {k: v for k, v in result.items() if k not in skip}
        props = {k: v for k, v in (schema.get("properties") or {}).items() if k not in skip}
        errors = list(schema_errors(body, {**schema, "properties": props}, ""))
        if errors:
            causes = "; ".join(errors[:5])
            raise ApiError(
                422,
                "Invalid",
                f'{rtype.kind}.{rtype.group} "{route.name}" is invalid: {causes}',
                {"name": route.name, "group": rtype.group, "kind": rtype.kind},
            )


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], context: ssl.SSLContext
    ) -> None:
        self.context = context
        super().__init__(address, handler)

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = self.socket.accept()
        # Handshake in the handler thread: a client that rejects our certificate must not stall accept().
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # TLS failures and clients hanging up are part of the tests


class _Handler(BaseHTTPRequestHandler):
    api: FakeKubeAPI
    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver"

    def setup(self) -> None:
        try:
            self.request.do_handshake()
        except (ssl.SSLError, OSError):
            self.request.close()
            raise
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache, private")
        if self.api.gzip and "gzip" in (self.headers.get("Accept-Encoding") or "") and len(body) > 128:
            body = gzip.compress(body, compresslevel=1)
            self.send_header("Content-Encoding", "gzip")
        if self.api.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(body), 16384):
                piece = body[start : start + 16384]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authenticated(self) -> bool:
        header = self.headers.get("Authorization", "")
        scheme, _, credential = header.partition(" ")
        # The scheme is case-insensitive (k8s.io/apiserver/pkg/authentication/request/bearertoken).
        if scheme.lower() == "bearer" and credential.strip() == self.api.token:
            return True
        if header:
            return False
        try:
            return bool(self.request.getpeercert())
        except (ValueError, AttributeError):
            return False

    def _serve(self, method: str) -> None:
        api = self.api
        split = urlsplit(self.path)
        path = split.path
        query = parse_qs(split.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw_body) if raw_body else None
        except ValueError:
            body = raw_body
        entry = LoggedRequest(
            method,
            path,
            query,
            dict(self.headers.items()),
            body,
            header_items=list(self.headers.items()),
            peer=tuple(self.client_address[:2]),  # type: ignore[arg-type]
            sni=getattr(self.request, "kserve_mn_sni", None),
        )
        with api._lock:
            api.log.append(entry)
        status, payload, ctype = self._answer(method, path, query, raw_body)
        entry.status = status
        self._send(status, payload, ctype)

    def _answer(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes
    ) -> tuple[int, bytes, str]:
        api = self.api
        try:
            if not self._authenticated():
                raise ApiError(401, "Unauthorized", "Unauthorized")
            route = api.route(path)
            self._impersonating = self.headers.get("Impersonate-User")
            fault = api._fault_for(method, path)
            if fault is not None and fault.delay:
                time.sleep(fault.delay)
            if fault is not None and fault.status:
                raise self._fault_error(fault, method, route)
            if route.kind == "unknown":
                # What kube-apiserver's NotFoundHandler answers for an unserved group or resource.
                return 404, b"404 page not found\n", "text/plain; charset=utf-8"
            if route.kind == "discovery":
                if method != "GET":
                    raise ApiError(
                        405,
                        "MethodNotAllowed",
                        "the server does not allow this method on the requested resource",
                    )
                return 200, json.dumps(route.doc).encode(), "application/json"
            if route.subresource is not None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            if method == "GET":
                if route.name is None:
                    return 200, api.list_bytes(route, query), "application/json"
                return 200, api.get_bytes(route), "application/json"
            if method == "PATCH" and route.name is not None:
                return (
                    200,
                    api.patch(route, self.headers.get("Content-Type", ""), body, query),
                    "application/json",
                )
            raise ApiError(
                405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
            )
        except ApiError as err:
            return err.code, json.dumps(err.status()).encode(), "application/json"

    def _fault_error(self, fault: Fault, method: str, route: _Route) -> ApiError:
        if fault.status == 403 and fault.message is None:
            return self.api.forbidden(method, route, user=getattr(self, "_impersonating", None))
        reasons = {
            400: "BadRequest",
            401: "Unauthorized",
            404: "NotFound",
            409: "Conflict",
            410: "Expired",
            422: "Invalid",
            429: "TooManyRequests",
            500: "InternalError",
            503: "ServiceUnavailable",
        }
        defaults = {
            401: "Unauthorized",
            404: "the server could not find the requested resource",
            500: "Internal error occurred: injected fault",
            503: "the server is currently unable to handle the request",
        }
        if fault.status == 404 and route.rtype is not None and route.name and fault.message is None:
            return self.api.not_found(route.rtype, route.name)
        message = fault.message or defaults.get(fault.status, f"injected fault {fault.status}")
        return ApiError(fault.status, reasons.get(fault.status, "Unknown"), message)
