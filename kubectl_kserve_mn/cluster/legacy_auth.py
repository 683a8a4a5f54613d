"""Legacy ``auth-provider`` users (gcp, oidc): the kubernetes client's loader gets the token.

This is the only place that imports the kubernetes client, and only for such users: it costs about half
a second. Refreshed tokens (oidc) are written back to the kubeconfig file that holds the user, as the
client's own loader and kubectl do.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

from kubectl_kserve_mn.cluster.config import AuthProvider, ConnectionConfig
from kubectl_kserve_mn.errors import InputError

_NAME = "kubectl-kserve-mn"


def auth_provider_token(config: ConnectionConfig) -> tuple[str | None, Callable[[], str | None]]:
    """The bearer token of the user's auth provider, and a function that refreshes it."""
    provider = config.auth_provider
    assert provider is not None
    from kubernetes.client import Configuration
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.kube_config import KubeConfigLoader

    doc: dict[str, Any] = {
        "current-context": _NAME,
        "contexts": [{"name": _NAME, "context": {"cluster": _NAME, "user": _NAME}}],
        # The loader only needs a server here; TLS settings are ours, not its.
        "clusters": [{"name": _NAME, "cluster": {"server": config.host, "insecure-skip-tls-verify": True}}],
        "users": [{"name": _NAME, "user": provider.user}],
    }
    configuration = Configuration()

    def persist() -> None:
        _write_back(provider)

    try:
        loader = KubeConfigLoader(config_dict=doc, active_context=_NAME, config_persister=persist)
    except ConfigException as err:
        raise InputError(f'user "{provider.user_name}": auth-provider {provider.name}: {err}') from None

    def token() -> str | None:
        try:
            loader.load_and_set(configuration)
        except ConfigException as err:
            raise InputError(f'user "{provider.user_name}": auth-provider {provider.name}: {err}') from None
        value = configuration.api_key.get("BearerToken") or configuration.api_key.get("authorization")
        if not value:
            return None
        text = str(value)
        return text[7:] if text.lower().startswith("bearer ") else text

    first = token()
    if first is None:
        raise InputError(
            f'user "{provider.user_name}": auth-provider "{provider.name}" gave no token (the kubernetes client '
            "knows gcp and oidc; newer clusters use exec plugins such as gke-gcloud-auth-plugin or kubelogin)"
        )
    return first, token


def _write_back(provider: AuthProvider) -> None:
    """Store the provider's refreshed config in its kubeconfig file (mode kept, written atomically)."""
    if not provider.source or not os.path.isfile(provider.source):
        return
    import yaml

    with open(provider.source, encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)
    if not isinstance(doc, dict):
        return
    for entry in doc.get("users") or []:
        if (
            isinstance(entry, dict)
            and entry.get("name") == provider.user_name
            and isinstance(entry.get("user"), dict)
        ):
            entry["user"]["auth-provider"] = provider.user.get("auth-provider")
    mode = os.stat(provider.source).st_mode & 0o777
    folder = os.path.dirname(os.path.abspath(provider.source))
    fd, tmp = tempfile.mkstemp(prefix=".kubeconfig-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yaml.safe_dump(doc, handle, default_flow_style=False)
        os.chmod(tmp, mode)
        os.replace(tmp, provider.source)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
