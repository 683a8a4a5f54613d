"""The plugin's own identity (version, Python, platform), without click: ``version --client`` prints it
before anything else is imported (:func:`kubectl_kserve_mn.cli.main`)."""

from __future__ import annotations

import platform

from kubectl_kserve_mn import __version__

# platform.machine() spellings -> Go's GOARCH, which Krew's selectors and our archive names use.
_GOARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "x64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv8": "arm64",
    "armv8l": "arm64",
    "i386": "386",
    "i686": "386",
    "x86": "386",
    "armv7l": "arm",
    "armv6l": "arm",
    "ppc64le": "ppc64le",
}


def plugin_version() -> str:
    """The release version with kubectl's and Krew's ``v`` prefix (``v0.1.0``)."""
    return "v" + __version__


def go_platform(system: str | None = None, machine: str | None = None) -> tuple[str, str]:
    """(GOOS, GOARCH) for a ``platform.system()`` / ``platform.machine()`` pair, e.g. ("linux", "amd64").

    Unknown values are lower-cased and passed through rather than guessed.
    """
    system = (platform.system() if system is None else system).lower()
    machine = (platform.machine() if machine is None else machine).lower()
    goos = "windows" if system.startswith(("win", "cygwin", "msys")) else system
    return goos, _GOARCH.get(machine, machine)


def plugin_info() -> dict[str, str]:
    goos, goarch = go_platform()
    return {
        "version": plugin_version(),
        "python": platform.python_version(),
        "platform": f"{goos}/{goarch}",
    }


def client_text(plugin: dict[str, str]) -> str:
    """The client part of ``version``'s text output."""
    return "\n".join(
        [
            f"Plugin Version: {plugin['version']}",
            f"Python Version: {plugin['python']} ({platform.python_implementation()})",
            f"Platform: {plugin['platform']}",
        ]
    )
