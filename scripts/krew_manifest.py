#!/usr/bin/env python3
"""Fill the Krew manifest's platforms from release archives, and check it the way Krew does.

    python scripts/krew_manifest.py ARCHIVE... [--base-url URL] [--template krew/kserve-mn.yaml] [-o FILE]

Each ARCHIVE is named ``kubectl-kserve_mn_<version>_<os>_<arch>.tar.gz`` (what scripts/build.sh
writes); its platform entry gets ``uri`` = ``<base-url>/<file name>`` and the archive's ``sha256``.
Platforms without an archive keep their entry from the template (with a warning when it names
another version). ``spec.version`` becomes the archives' version. The default base URL is the
GitHub release download folder of that version under the manifest's ``homepage``.
The result is checked with :func:`validate` (Krew's validator rules) before it is printed.

Krew's rules are from kubernetes-sigs/krew: internal/index/validation/validate.go (structure),
cmd/validate-krew-manifest/main.go (supported os/arch pairs, no overlapping selectors, licence
file names), pkg/installation/install.go (bin must stay inside the install dir), and the krew-index
review norms (shortDescription <= 50 characters, description wrapped at 80 columns, no examples).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

API_VERSION = "krew.googlecontainertools.github.com/v1alpha2"
KIND = "Plugin"
PLUGIN_NAME = "kserve-mn"
BIN_NAME = "kubectl-kserve_mn"
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = ROOT / "krew" / f"{PLUGIN_NAME}.yaml"

# The platforms we release (one archive each); Krew's supported pairs are a superset.
RELEASE_PLATFORMS: tuple[tuple[str, str], ...] = (
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
    ("windows", "amd64"),
)
# cmd/validate-krew-manifest/main.go: every selector must match one of these, and none twice.
KREW_SUPPORTED_PAIRS: tuple[tuple[str, str], ...] = (
    ("windows", "386"),
    ("windows", "amd64"),
    ("windows", "arm64"),
    ("linux", "386"),
    ("linux", "amd64"),
    ("linux", "arm"),
    ("linux", "arm64"),
    ("linux", "ppc64le"),
    ("darwin", "386"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
)
# The licence file names the validator accepts in the install dir (case-insensitive).
LICENSE_NAMES = frozenset(
    {
        "license",
        "license.txt",
        "license.md",
        "licenses",
        "licenses.txt",
        "licenses.md",
        "copying",
        "copying.txt",
    }
)
WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"COM{i}" for i in range(1, 10)] + [f"LPT{i}" for i in range(1, 10)]
)
SHORT_DESCRIPTION_MAX = 50
DESCRIPTION_WIDTH = 80

_SAFE_NAME = re.compile(r"^[\w-]+$")
_SHA256 = re.compile(r"^[a-f0-9]{64}$")
# Semantic Versioning 2.0.0 with the "v" prefix Krew requires (pkg/installation/semver).
_SEMVER = re.compile(
    r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_ARCHIVE = re.compile(
    rf"^{re.escape(BIN_NAME)}_(?P<version>v[^_/\\]+)_(?P<os>[a-z0-9]+)_(?P<arch>[a-z0-9]+)\.(?P<ext>tar\.gz|zip)$"
)
# A line that looks like a usage example ("kubectl kserve-mn plan ...", "$ ...").
_EXAMPLE_LINE = re.compile(r"^\s*(\$ |kubectl[ -]|#\s*kubectl)")


@dataclass(frozen=True)
class Archive:
    """One release archive: where it is, the platform its name says, and its digest."""

    path: Path
    version: str
    goos: str
    goarch: str
    sha256: str


def archive_name(version: str, goos: str, goarch: str) -> str:
    """``kubectl-kserve_mn_v0.1.0_linux_amd64.tar.gz``."""
    return f"{BIN_NAME}_{version}_{goos}_{goarch}.tar.gz"


def parse_archive_name(name: str) -> tuple[str, str, str]:
    """(version, os, arch) from an archive file name; ValueError if it is not one of ours."""
    match = _ARCHIVE.match(name)
    if not match:
        raise ValueError(f"{name!r} is not named {BIN_NAME}_<version>_<os>_<arch>.tar.gz")
    pair = (match["os"], match["arch"])
    if pair not in KREW_SUPPORTED_PAIRS:
        raise ValueError(f"{name!r}: {pair[0]}/{pair[1]} is not a platform Krew supports")
    return match["version"], match["os"], match["arch"]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_archive(path: Path) -> Archive:
    version, goos, goarch = parse_archive_name(path.name)
    return Archive(path, version, goos, goarch, sha256_file(path))


# --- label selectors (metav1.LabelSelector semantics) ----------------------------------------------


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Whether a Kubernetes label selector matches ``labels`` (matchLabels AND every expression)."""
    if not selector:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def platform_for(manifest: Mapping[str, Any], goos: str, goarch: str) -> dict[str, Any] | None:
    """The platform entry Krew would pick for os/arch: the first whose selector matches."""
    for plat in manifest.get("spec", {}).get("platforms") or []:
        if selector_matches(plat.get("selector"), {"os": goos, "arch": goarch}):
            return dict(plat)
    return None


# --- validation ----------------------------------------------------------------------------------


def _validate_selector(selector: Any) -> list[str]:
    # internal/index/validation/validate.go: validateSelector
    if not isinstance(selector, Mapping):
        return ["nil selector is not supported"]
    labels = selector.get("matchLabels")
    exprs = selector.get("matchExpressions")
    if labels is None and not exprs:
        return ["empty selector is not supported"]
    errors: list[str] = []
    keys = list((labels or {}).keys()) + [e.get("key") for e in exprs or [] if isinstance(e, Mapping)]
    errors += [
        f"selector key {key!r} not supported (only os, arch)" for key in keys if key not in ("os", "arch")
    ]
    if labels is not None and len(labels) == 0:
        errors.append("`matchLabels` specified but empty")
    if exprs is not None and len(exprs) == 0:
        errors.append("`matchExpressions` specified but empty")
    return errors


def _is_inside(bin_path: str) -> bool:
    # pkg/installation/install.go: the bin path joined to the install dir must stay inside it.
    parts = [p for p in re.split(r"[\\/]", bin_path) if p not in ("", ".")]
    depth = 0
    for part in parts:
        depth += -1 if part == ".." else 1
        if depth < 0:
            return False
    return depth > 0 and not bin_path.startswith(("/", "\\")) and not re.match(r"^[A-Za-z]:", bin_path)


def _validate_platform(plat: Any, index: int) -> list[str]:
    where = f"platforms[{index}]"
    if not isinstance(plat, Mapping):
        return [f"{where}: not a mapping"]
    errors: list[str] = []
    uri = plat.get("uri") or ""
    if not uri:
        errors.append(f"{where}: `uri` has to be set")
    elif not (uri.endswith(".tar.gz") or uri.endswith(".zip")):
        errors.append(f"{where}: uri {uri!r} must be a .tar.gz or .zip archive")
    sha = plat.get("sha256") or ""
    if not sha:
        errors.append(f"{where}: `sha256` sum has to be set")
    elif not _SHA256.match(str(sha)):
        errors.append(f"{where}: `sha256` value {sha!r} is not valid, must match {_SHA256.pattern}")
    bin_path = plat.get("bin") or ""
    if not bin_path:
        errors.append(f"{where}: `bin` has to be set")
    elif not _is_inside(str(bin_path)):
        errors.append(f"{where}: bin {bin_path!r} must be a path inside the install dir")
    if "files" in plat:
        files = plat["files"]
        if not files:
            errors.append(f"{where}: `files` has to be unspecified or non-empty")
        for op in files or []:
            if not isinstance(op, Mapping) or not op.get("from"):
                errors.append(f"{where}: files: `from` field has to be set")
            elif not op.get("to"):
                errors.append(f"{where}: files: `to` field has to be set")
    selector_errors = _validate_selector(plat.get("selector"))
    errors += [f"{where}: invalid platform selector: {e}" for e in selector_errors]
    if not selector_errors:
        matched = [
            p for p in KREW_SUPPORTED_PAIRS if selector_matches(plat["selector"], dict(os=p[0], arch=p[1]))
        ]
        if not matched:
            errors.append(f"{where}: selector matches no os/arch pair that Krew supports")
        # Krew supports only .exe entry points on Windows (krew#131).
        if any(goos == "windows" for goos, _ in matched) and bin_path and not str(bin_path).endswith(".exe"):
            errors.append(f"{where}: bin {bin_path!r} for windows must end in .exe")
    return errors


def validate(manifest: Any, file_name: str) -> list[str]:
    """Every rule Krew's ``validate-krew-manifest`` applies to a manifest file, plus the krew-index
    review norms; returns the problems found (empty when the manifest is valid)."""
    if not isinstance(manifest, Mapping):
        return ["manifest is not a mapping"]
    errors: list[str] = []
    path = Path(file_name)
    if path.suffix != ".yaml":
        errors.append(f"manifest file {path.name!r} must have the .yaml extension")
    if manifest.get("apiVersion") != API_VERSION:
        errors.append(f"apiVersion is {manifest.get('apiVersion')!r}, must be {API_VERSION!r}")
    if manifest.get("kind") != KIND:
        errors.append(f"kind is {manifest.get('kind')!r}, must be {KIND!r}")
    name = (manifest.get("metadata") or {}).get("name") or ""
    if not _SAFE_NAME.match(name) or name.upper() in WINDOWS_RESERVED:
        errors.append(f"plugin name {name!r} is not allowed, must match {_SAFE_NAME.pattern}")
    if name != path.stem:
        errors.append(f"plugin should be named {path.stem!r} (the file name), not {name!r}")
    spec = manifest.get("spec") or {}
    short = spec.get("shortDescription") or ""
    if not short:
        errors.append("should have a short description")
    elif "\n" in short:
        errors.append("shortDescription must be one line")
    elif len(short) > SHORT_DESCRIPTION_MAX:
        errors.append(f"shortDescription has {len(short)} characters, at most {SHORT_DESCRIPTION_MAX}")
    description = spec.get("description") or ""
    if not description.strip():
        errors.append("should have a description")
    for number, line in enumerate(description.splitlines(), 1):
        if len(line) > DESCRIPTION_WIDTH:
            errors.append(
                f"description line {number} has {len(line)} characters, wrap at {DESCRIPTION_WIDTH}"
            )
        if _EXAMPLE_LINE.match(line):
            errors.append(f"description line {number} looks like a usage example: {line.strip()!r}")
    if not spec.get("homepage"):
        errors.append("should have a homepage")
    version = spec.get("version") or ""
    if not version:
        errors.append("should have a version specified")
    elif not _SEMVER.match(str(version)):
        errors.append(f"version {version!r} is not semver with the v prefix (e.g. v1.2.3)")
    platforms = spec.get("platforms") or []
    if not platforms:
        errors.append("should have a platform specified")
    for index, plat in enumerate(platforms):
        errors += _validate_platform(plat, index)
    # cmd/validate-krew-manifest/main.go: no supported os/arch may be matched by two platforms.
    for goos, goarch in KREW_SUPPORTED_PAIRS:
        hits = [
            i
            for i, plat in enumerate(platforms)
            if isinstance(plat, Mapping)
            and not _validate_selector(plat.get("selector"))
            and selector_matches(plat["selector"], {"os": goos, "arch": goarch})
        ]
        if len(hits) > 1:
            errors.append(f"{goos}/{goarch} is matched by more than one platform: {hits}")
    return errors


def missing_release_platforms(manifest: Mapping[str, Any]) -> list[str]:
    """The os/arch pairs we release that no platform entry covers."""
    return [f"{o}/{a}" for o, a in RELEASE_PLATFORMS if platform_for(manifest, o, a) is None]


# --- filling in archives ---------------------------------------------------------------------------


def default_base_url(manifest: Mapping[str, Any], version: str) -> str:
    homepage = str(manifest["spec"]["homepage"]).rstrip("/")
    return f"{homepage}/releases/download/{version}"


def fill(
    template: Mapping[str, Any], archives: Sequence[Archive], base_url: str | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The manifest with each archive's platform entry pointed at it; returns (manifest, warnings).

    Raises ValueError when the archives disagree on the version, or an archive's platform has no
    entry in the template.
    """
    if not archives:
        raise ValueError("no archives given")
    versions = sorted({a.version for a in archives})
    if len(versions) > 1:
        raise ValueError(f"the archives are of different versions: {', '.join(versions)}")
    version = versions[0]
    manifest = copy.deepcopy(dict(template))
    spec = manifest["spec"]
    base = (base_url or default_base_url(manifest, version)).rstrip("/")
    spec["version"] = version
    warnings: list[str] = []
    updated: set[int] = set()
    for archive in archives:
        hits = [
            i
            for i, plat in enumerate(spec["platforms"])
            if selector_matches(plat.get("selector"), {"os": archive.goos, "arch": archive.goarch})
        ]
        if not hits:
            raise ValueError(f"{archive.path.name}: no platform entry for {archive.goos}/{archive.goarch}")
        if hits[0] in updated:
            raise ValueError(f"{archive.path.name}: a second archive for {archive.goos}/{archive.goarch}")
        updated.add(hits[0])
        plat = spec["platforms"][hits[0]]
        plat["uri"] = f"{base}/{archive.path.name}"
        plat["sha256"] = archive.sha256
    for index, plat in enumerate(spec["platforms"]):
        if index not in updated and version not in str(plat.get("uri", "")):
            labels = (plat.get("selector") or {}).get("matchLabels") or {}
            where = "/".join(str(labels.get(k, "?")) for k in ("os", "arch"))
            warnings.append(f"platform {where} has no archive and keeps its entry for another version")
    return manifest, warnings


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


def render(manifest: Mapping[str, Any]) -> str:
    """The manifest as YAML in krew-index's layout (keys in order, description as a block)."""
    return yaml.dump(dict(manifest), Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000)


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a YAML mapping")
    return data


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("archives", nargs="+", type=Path, metavar="ARCHIVE")
    parser.add_argument("--base-url", help="Download folder of the archives (default: the GitHub release).")
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE, help="Manifest to start from.")
    parser.add_argument("-o", "--output", type=Path, help="Write here instead of standard output.")
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        template = load(args.template)
        archives = [read_archive(path) for path in args.archives]
        manifest, warnings = fill(template, archives, args.base_url)
    except (OSError, ValueError, yaml.YAMLError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    problems = validate(manifest, (args.output or args.template).name)
    if problems:
        for problem in problems:
            print(f"error: invalid manifest: {problem}", file=sys.stderr)
        return 1
    text = render(manifest)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
