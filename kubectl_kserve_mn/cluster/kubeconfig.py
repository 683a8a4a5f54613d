"""kubectl's connection settings without the kubernetes client: kubeconfig files, flags, in-cluster.

:func:`load` turns the kubeconfig files, kubectl's global flags (:class:`Overrides`) and the pod's
service account into one :class:`ConnectionConfig` (both defined in :mod:`.config`), with client-go's
semantics (kubernetes/client-go@32ce75a7, ``tools/clientcmd/loader.go``, ``client_config.go``,
``validation.go``, ``merged_client_builder.go``, ``rest/config.go`` ``InClusterConfig``):

- Files: ``--kubeconfig`` (it must exist), else every file named in ``$KUBECONFIG`` (``os.pathsep``
  separated; duplicates and missing files skipped), else ``~/.kube/config``. Named clusters, contexts
  and users merge first-wins, whole entries (a second file's ``red-user`` is ignored entirely);
  ``current-context`` comes from the first file that sets it. Relative paths (certificate-authority,
  client-certificate, client-key, tokenFile, an exec command with a path separator) resolve against the
  file that holds them.
- Flags override the kubeconfig: ``--context``, ``--cluster``, ``--user`` pick entries (an unknown name
  is an error); ``--server``, ``--certificate-authority``, ``--insecure-skip-tls-verify``,
  ``--tls-server-name`` override the cluster (a CA or insecure flag replaces all three CA settings;
  ``--server`` clears the file's tls-server-name unless the flag gives one); ``--token``,
  ``--client-certificate``, ``--client-key``, ``--as``, ``--as-group``, ``--as-uid`` override the user.
  ``--server`` works with no kubeconfig at all.
- In a pod (``KUBERNETES_SERVICE_HOST``/``_PORT`` and the service-account token), when no kubeconfig
  gives a configuration: the service account's token (re-read while running) and CA; namespace from
  ``POD_NAMESPACE``, else the service account's namespace file.
- The same validation errors as kubectl (two CA sources, a certificate without a key, token and basic
  auth together, an exec plugin without command/apiVersion/interactiveMode, groups without ``--as``).

Nothing here talks to the network or imports the kubernetes client; every problem is an
:class:`~kubectl_kserve_mn.errors.InputError` (exit 2) whose message never contains a credential.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, field
from typing import Any

from kubectl_kserve_mn.cluster.config import (
    EXEC_API_VERSIONS,
    EXEC_CLUSTER_EXTENSION,
    INTERACTIVE_MODES,
    SERVICE_ACCOUNT_DIR,
    AuthProvider,
    ConnectionConfig,
    ExecConfig,
    NoConfigurationError,
    Overrides,
    in_cluster,
    in_cluster_possible,
    normalize_host,
    parse_request_timeout,
    read_token_file,
    redactor,
    remember,
    resolve_path,
    validate,
)
from kubectl_kserve_mn.errors import InputError
from kubectl_kserve_mn.inputs.problems import BadInput

__all__ = [
    "SERVICE_ACCOUNT_DIR",
    "AuthProvider",
    "ConnectionConfig",
    "ExecConfig",
    "NoConfigurationError",
    "Overrides",
    "in_cluster_possible",
    "kubeconfig_available",
    "kubeconfig_paths",
    "load",
    "parse_request_timeout",
    "read_token_file",
    "redactor",
]

# -- files ----------------------------------------------------------------------------------------------


@dataclass
class _Entry:
    name: str
    body: dict[str, Any]
    source: str
    index: int


@dataclass
class _Merged:
    clusters: dict[str, _Entry] = field(default_factory=dict)
    contexts: dict[str, _Entry] = field(default_factory=dict)
    users: dict[str, _Entry] = field(default_factory=dict)
    current_context: str = ""
    sources: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.clusters or self.contexts or self.users or self.current_context)

    @property
    def source(self) -> str:
        return os.pathsep.join(self.sources) or "(no kubeconfig)"


def kubeconfig_paths(kubeconfig: str | None) -> list[str]:
    """The kubeconfig files kubectl would read, in order (missing ones included; see :func:`load`)."""
    if kubeconfig:
        return [os.path.expanduser(kubeconfig)]
    env = os.environ.get("KUBECONFIG")
    if env:
        return list(dict.fromkeys(os.path.expanduser(x) for x in env.split(os.pathsep) if x))
    return [os.path.expanduser(os.path.join("~", ".kube", "config"))]


def kubeconfig_available(
    kubeconfig: str | None = None, service_account_dir: str = SERVICE_ACCOUNT_DIR
) -> bool:
    """Whether a cluster connection is configured (files and environment only, nothing imported)."""
    if kubeconfig:
        return os.path.isfile(os.path.expanduser(kubeconfig))
    if any(os.path.isfile(p) for p in kubeconfig_paths(None)):
        return True
    return in_cluster_possible(service_account_dir)


def _read_file(path: str, *, explicit: bool) -> dict[str, Any] | None:
    """One kubeconfig file as a mapping; None when it does not exist (and is not ``--kubeconfig``)."""
    what = "--kubeconfig " + path if explicit else path
    if os.path.isdir(path):
        raise InputError(f"{what}: is a directory, not a kubeconfig file")
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        if explicit:
            raise InputError(f"{what}: file not found") from None
        return None
    except OSError as err:
        raise InputError(f"{what}: cannot read it: {err.strerror or err}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInput("not UTF-8 text, so not a kubeconfig", source=path) from None
    if not text.strip():
        return {}
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        doc = yaml.load(text, Loader=loader)
    except yaml.YAMLError as err:
        # Only the problem and its position: the YAML snippet could hold a token.
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(err, "problem", None) or type(err).__name__
        raise InputError(f"{path}: kubeconfig is not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise InputError(f"{path}: kubeconfig is nested too deeply to be a kubeconfig") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        kind = _kind_of(doc)
        raise BadInput(
            f"{kind}, not a kubeconfig (expected a YAML mapping with clusters, contexts and users)",
            source=path,
        )
    return doc


def _kind_of(value: Any) -> str:
    """What a value is, without showing it (it might be a credential)."""
    if isinstance(value, str):
        return "plain text"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_SECTIONS = (("clusters", "cluster"), ("contexts", "context"), ("users", "user"))


def _merge(files: list[tuple[str, dict[str, Any]]]) -> _Merged:
    merged = _Merged()
    for path, doc in files:
        merged.sources.append(path)
        for section, body_key in _SECTIONS:
            entries = doc.get(section)
            if entries is None:
                continue
            if not isinstance(entries, list):
                raise BadInput(f"{_kind_of(entries)}, expected a list", source=path, path=[section])
            target: dict[str, _Entry] = getattr(merged, section)
            for index, entry in enumerate(entries):
                if not isinstance(entry, dict):
                    raise BadInput(
                        f"{_kind_of(entry)}, expected a mapping with name and {body_key}",
                        source=path,
                        path=[section, index],
                    )
                name = entry.get("name")
                if not isinstance(name, str) or not name:
                    raise BadInput(
                        "a name (a non-empty string) is required"
                        if name is None
                        else f"{_kind_of(name)}, expected a string",
                        source=path,
                        path=[section, index, "name"],
                    )
                body = entry.get(body_key)
                if body is None:
                    body = {}
                if not isinstance(body, dict):
                    raise BadInput(
                        f"{_kind_of(body)}, expected a mapping",
                        source=path,
                        obj=f'{body_key} "{name}"',
                        path=[body_key],
                    )
                target.setdefault(name, _Entry(name, body, path, index))
        current = doc.get("current-context")
        if current is not None and not isinstance(current, str):
            raise BadInput(f"{_kind_of(current)}, expected a string", source=path, path=["current-context"])
        if current and not merged.current_context:
            merged.current_context = current
    return merged


# -- typed access to one entry ----------------------------------------------------------------------------


class _Fields:
    """Typed reads of one kubeconfig entry's body, refusing wrong types with the entry and field named."""

    def __init__(self, entry: _Entry, kind: str) -> None:
        self.entry = entry
        self.kind = kind
        self.body = entry.body

    def bad(self, key: str | list[str | int], problem: str) -> BadInput:
        path: list[str | int] = [self.kind, *(key if isinstance(key, list) else [key])]
        return BadInput(problem, source=self.entry.source, obj=f'{self.kind} "{self.entry.name}"', path=path)

    def string(self, key: str) -> str | None:
        value = self.body.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self.bad(key, f"{_kind_of(value)}, expected a string")
        return value

    def boolean(self, key: str) -> bool:
        value = self.body.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self.bad(key, f"{_kind_of(value)}, expected true or false")
        return value

    def data(self, key: str) -> bytes | None:
        """A ``*-data`` field: base64 in the file, bytes here."""
        value = self.string(key)
        if value is None:
            return None
        try:
            return base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError):
            raise self.bad(key, "is not valid base64") from None

    def path(self, key: str) -> str | None:
        """A file path, resolved against the directory of the kubeconfig that holds it."""
        value = self.string(key)
        if value is None:
            return None
        return resolve_path(value, self.entry.source)

    def strings(self, key: str) -> list[str]:
        value = self.body.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.bad(key, f"{_kind_of(value)}, expected a list of strings")
        return list(value)


# -- resolution ---------------------------------------------------------------------------------------------


def load(
    kubeconfig: str | None,
    overrides: Overrides,
    *,
    service_account_dir: str = SERVICE_ACCOUNT_DIR,
) -> ConnectionConfig:
    """The connection kubectl would use with these flags (see the module docstring)."""
    paths = kubeconfig_paths(kubeconfig)
    files: list[tuple[str, dict[str, Any]]] = []
    for path in paths:
        doc = _read_file(path, explicit=bool(kubeconfig))
        if doc is not None:
            files.append((path, doc))
    merged = _merge(files)
    names_given = bool(overrides.context or overrides.cluster or overrides.user)
    if merged.empty and not overrides.server and not names_given:
        if in_cluster_possible(service_account_dir):
            return in_cluster(overrides, service_account_dir)
        raise NoConfigurationError(_no_configuration_message(kubeconfig, paths, files))
    return _from_kubeconfig(merged, overrides)


def _no_configuration_message(
    kubeconfig: str | None, paths: list[str], files: list[tuple[str, dict[str, Any]]]
) -> str:
    if files:
        return (
            f"kubeconfig {os.pathsep.join(p for p, _ in files)} has no current-context and no contexts, and "
            "this is not a pod: pass --server, or a --kubeconfig with a context"
        )
    if os.environ.get("KUBECONFIG") and not kubeconfig:
        where = f"no kubeconfig found ($KUBECONFIG names no existing file: {os.pathsep.join(paths)})"
    else:
        where = "no kubeconfig found (~/.kube/config does not exist)"
    return f"{where} and not running in a pod: pass --kubeconfig or --server, or set KUBECONFIG"


def _from_kubeconfig(merged: _Merged, overrides: Overrides) -> ConnectionConfig:
    source = merged.source
    context_name = overrides.context or merged.current_context
    context_entry = merged.contexts.get(context_name) if context_name else None
    if context_name and context_entry is None:
        raise InputError(f'context "{context_name}" not found in kubeconfig {source}')
    context = _Fields(context_entry, "context") if context_entry else None

    cluster_name = overrides.cluster or (context.string("cluster") if context else None) or ""
    cluster_entry = merged.clusters.get(cluster_name) if cluster_name else None
    if overrides.cluster and cluster_entry is None:
        raise InputError(f'cluster "{overrides.cluster}" not found in kubeconfig {source}')
    user_name = overrides.user or (context.string("user") if context else None) or ""
    user_entry = merged.users.get(user_name) if user_name else None
    if overrides.user and user_entry is None:
        raise InputError(f'user "{overrides.user}" not found in kubeconfig {source}')

    if cluster_entry is None and not overrides.server:
        if not context_name:
            raise InputError(f"kubeconfig {source} has no current-context: pass --context")
        if not cluster_name:
            raise InputError(f'context "{context_name}" in kubeconfig {source} names no cluster')
        raise InputError(f'cluster "{cluster_name}" (context "{context_name}") not found in {source}')

    namespace = context.string("namespace") if context else None
    config = ConnectionConfig(host="", context=context_name or "(flags)", namespace=namespace)
    extension = _apply_cluster(config, cluster_entry, cluster_name, overrides)
    _apply_user(config, user_entry, user_name, overrides, extension)
    validate(config, user_name or "(flags)", cluster_name or "(flags)")
    return config


def _apply_cluster(config: ConnectionConfig, entry: _Entry | None, name: str, overrides: Overrides) -> Any:
    """Cluster settings and flags into ``config``; returns the cluster's exec-plugin extension."""
    server: str | None = None
    extension: Any = None
    if entry is not None:
        cluster = _Fields(entry, "cluster")
        server = cluster.string("server")
        config.ca_file = cluster.path("certificate-authority")
        config.ca_data = cluster.data("certificate-authority-data")
        config.insecure = cluster.boolean("insecure-skip-tls-verify")
        config.tls_server_name = cluster.string("tls-server-name")
        config.proxy_url = cluster.string("proxy-url")
        config.disable_compression = cluster.boolean("disable-compression")
        extension = _extension(cluster, EXEC_CLUSTER_EXTENSION)
    if overrides.server:
        server = overrides.server
    if overrides.insecure_skip_tls_verify or overrides.certificate_authority:
        # client_config.go getCluster: a CA or insecure flag replaces all three CA settings.
        config.insecure = overrides.insecure_skip_tls_verify
        config.ca_file = (
            resolve_path(overrides.certificate_authority, "") if overrides.certificate_authority else None
        )
        config.ca_data = None
    if overrides.tls_server_name or overrides.server:
        config.tls_server_name = overrides.tls_server_name or None
    if not server:
        raise InputError(f'no server found for cluster "{name}"' if name else "no server given")
    config.host = normalize_host(server, tls=bool(config.ca_file or config.ca_data or config.insecure))
    return extension


def _extension(fields: _Fields, name: str) -> Any:
    extensions = fields.body.get("extensions")
    if not isinstance(extensions, list):
        return None
    for item in extensions:
        if isinstance(item, dict) and item.get("name") == name:
            return item.get("extension")
    return None


def _apply_user(
    config: ConnectionConfig, entry: _Entry | None, name: str, overrides: Overrides, extension: Any
) -> None:
    if entry is not None:
        user = _Fields(entry, "user")
        config.token = user.string("token")
        config.token_file = user.path("tokenFile")
        config.username = user.string("username")
        config.password = user.string("password")
        config.cert_file = user.path("client-certificate")
        config.cert_data = user.data("client-certificate-data")
        config.key_file = user.path("client-key")
        config.key_data = user.data("client-key-data")
        config.impersonate = user.string("as")
        config.impersonate_uid = user.string("as-uid")
        config.impersonate_groups = tuple(user.strings("as-groups"))
        config.impersonate_extra = _user_extra(user)
        config.exec = _exec_config(user, extension)
        provider = user.body.get("auth-provider")
        if provider is not None:
            if not isinstance(provider, dict) or not isinstance(provider.get("name"), str):
                raise user.bad("auth-provider", f"{_kind_of(provider)}, expected a mapping with a name")
            config.auth_provider = AuthProvider(provider["name"], name, entry.body, entry.source)
        _collect_secrets(config, entry.body)
    if overrides.token:
        config.token, config.token_file = overrides.token, None
    if overrides.client_certificate:
        config.cert_file, config.cert_data = resolve_path(overrides.client_certificate, ""), None
    if overrides.client_key:
        config.key_file, config.key_data = resolve_path(overrides.client_key, ""), None
    if overrides.impersonate:
        config.impersonate = overrides.impersonate
    if overrides.impersonate_uid:
        config.impersonate_uid = overrides.impersonate_uid
    if overrides.impersonate_groups:
        config.impersonate_groups = tuple(overrides.impersonate_groups)
    for secret in (overrides.token, config.token, config.password):
        remember(config, secret)


def _user_extra(user: _Fields) -> dict[str, list[str]]:
    value = user.body.get("as-user-extra")
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(x, str) for x in v)
        for k, v in value.items()
    ):
        raise user.bad("as-user-extra", f"{_kind_of(value)}, expected a mapping of lists of strings")
    return {str(k): list(v) for k, v in value.items()}


def _exec_config(user: _Fields, cluster_extension: Any) -> ExecConfig | None:
    body = user.body.get("exec")
    if body is None:
        return None
    if not isinstance(body, dict):
        raise user.bad("exec", f"{_kind_of(body)}, expected a mapping")
    fields = _Fields(_Entry(user.entry.name, body, user.entry.source, user.entry.index), user.kind)

    def bad(key: str, problem: str) -> BadInput:
        return user.bad(["exec", key], problem)

    command = fields.string("command")
    if not command:
        raise bad("command", "is required to use an exec credential plugin")
    if os.sep in command or (os.altsep and os.altsep in command):
        command = resolve_path(command, user.entry.source)
    api_version = fields.string("apiVersion")
    if not api_version:
        raise bad("apiVersion", "is required to use an exec credential plugin")
    if api_version not in EXEC_API_VERSIONS:
        raise bad("apiVersion", f"{api_version!r} is not supported (use {' or '.join(EXEC_API_VERSIONS)})")
    args = fields.strings("args")
    env_list = body.get("env") or []
    if not isinstance(env_list, list):
        raise bad("env", f"{_kind_of(env_list)}, expected a list of name/value pairs")
    env: list[tuple[str, str]] = []
    for index, item in enumerate(env_list):
        name = item.get("name") if isinstance(item, dict) else None
        value = item.get("value", "") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name or not isinstance(value, str):
            raise user.bad(["exec", "env", index], "expected a name (non-empty string) and a string value")
        env.append((name, value))
    mode = fields.string("interactiveMode")
    if mode is None and api_version.endswith("/v1beta1"):
        mode = "IfAvailable"  # clientcmd/api/v1 SetDefaults_ExecConfig
    if mode is None:
        raise bad(
            "interactiveMode", f"is required with apiVersion {api_version} (Never, IfAvailable or Always)"
        )
    if mode not in INTERACTIVE_MODES:
        raise bad("interactiveMode", f"{mode!r} is not one of Never, IfAvailable, Always")
    return ExecConfig(
        command=command,
        args=args,
        env=env,
        api_version=api_version,
        interactive_mode=mode,
        provide_cluster_info=fields.boolean("provideClusterInfo"),
        install_hint=fields.string("installHint") or "",
        cluster_config=cluster_extension,
    )


def _collect_secrets(config: ConnectionConfig, body: dict[str, Any]) -> None:
    for key in ("token", "password", "client-key-data", "client-certificate-data"):
        value = body.get(key)
        if isinstance(value, str):
            remember(config, value)
    provider = body.get("auth-provider")
    if isinstance(provider, dict) and isinstance(provider.get("config"), dict):
        for key, value in provider["config"].items():
            if isinstance(value, str) and ("token" in key or "secret" in key):
                remember(config, value)
