"""The Krew manifest (krew/kserve-mn.yaml), its release-bot template (.krew.yaml) and
scripts/krew_manifest.py, checked with the rules of Krew's validate-krew-manifest.

Krew's rules: kubernetes-sigs/krew internal/index/validation/validate.go and
cmd/validate-krew-manifest/main.go (see scripts/krew_manifest.py for the list)."""

from __future__ import annotations

import copy
import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import kubectl_kserve_mn
from tests.fixture_files import load_script

ROOT = Path(__file__).resolve().parent.parent
MANIFEST_PATH = ROOT / "krew" / "kserve-mn.yaml"
TEMPLATE_PATH = ROOT / ".krew.yaml"
SCRIPT = ROOT / "scripts" / "krew_manifest.py"
SOURCE_VERSION = "v" + kubectl_kserve_mn.__version__


km = load_script("krew_manifest")


@pytest.fixture
def manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


# --- the committed manifest ---------------------------------------------------------------------


def test_committed_manifest_passes_every_krew_validator_rule(manifest: dict[str, Any]) -> None:
    assert km.validate(manifest, MANIFEST_PATH.name) == []


def test_committed_manifest_has_one_platform_per_released_os_arch(manifest: dict[str, Any]) -> None:
    pairs = [
        (p["selector"]["matchLabels"]["os"], p["selector"]["matchLabels"]["arch"])
        for p in manifest["spec"]["platforms"]
    ]
    assert sorted(pairs) == sorted(
        [
            ("linux", "amd64"),
            ("linux", "arm64"),
            ("darwin", "amd64"),
            ("darwin", "arm64"),
            ("windows", "amd64"),
        ]
    )


def test_manifest_version_is_the_package_version(manifest: dict[str, Any]) -> None:
    assert manifest["spec"]["version"] == SOURCE_VERSION


def test_each_uri_names_the_archive_of_its_own_platform_and_version(manifest: dict[str, Any]) -> None:
    for plat in manifest["spec"]["platforms"]:
        labels = plat["selector"]["matchLabels"]
        version, goos, goarch = km.parse_archive_name(plat["uri"].rsplit("/", 1)[1])
        assert (version, goos, goarch) == (manifest["spec"]["version"], labels["os"], labels["arch"])
        assert plat["uri"].startswith(manifest["spec"]["homepage"] + "/releases/download/" + version + "/")


def test_bin_points_into_the_onedir_bundle_with_exe_on_windows(manifest: dict[str, Any]) -> None:
    for plat in manifest["spec"]["platforms"]:
        suffix = ".exe" if plat["selector"]["matchLabels"]["os"] == "windows" else ""
        assert plat["bin"] == f"kubectl-kserve_mn/kubectl-kserve_mn{suffix}"
        # No `files`: Krew's default (from "*" to ".") installs LICENSE and the bundle folder.
        assert "files" not in plat


def test_committed_manifest_is_in_the_form_the_script_writes() -> None:
    # The release workflow rewrites the file with the script; the diff must be only uri/sha/version.
    text = MANIFEST_PATH.read_text(encoding="utf-8")
    assert km.render(km.load(MANIFEST_PATH)) == text


def test_description_is_wrapped_at_80_columns_and_short_description_fits_50(manifest: dict[str, Any]) -> None:
    spec = manifest["spec"]
    assert len(spec["shortDescription"]) <= 50
    assert max(len(line) for line in spec["description"].splitlines()) <= 80


# --- the validator rejects what Krew rejects -------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(m: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = m
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        if value is _DELETE:
            del node[int(last) if last.isdigit() else last]
        else:
            node[int(last) if last.isdigit() else last] = value

    return mutate


_DELETE = object()


def _add_overlapping_platform(m: dict[str, Any]) -> None:
    extra = copy.deepcopy(m["spec"]["platforms"][0])
    extra["selector"] = {"matchExpressions": [{"key": "os", "operator": "In", "values": ["linux"]}]}
    m["spec"]["platforms"].append(extra)


INVALID: list[tuple[str, Mutation, str]] = [
    ("wrong-api-version", _set("apiVersion", "krew.googlecontainertools.github.com/v1alpha1"), "apiVersion"),
    ("wrong-kind", _set("kind", "Plugins"), "kind"),
    ("name-not-file-name", _set("metadata.name", "kserve-multinode"), "file name"),
    ("unsafe-name", _set("metadata.name", "kserve mn"), "not allowed"),
    ("no-short-description", _set("spec.shortDescription", ""), "short description"),
    ("two-line-short-description", _set("spec.shortDescription", "one\ntwo"), "one line"),
    ("long-short-description", _set("spec.shortDescription", "x" * 51), "at most 50"),
    ("description-over-80", _set("spec.description", "word " * 20 + "\n"), "wrap at 80"),
    (
        "description-with-example",
        _set("spec.description", "Plans layouts.\n\n  kubectl kserve-mn plan\n"),
        "usage example",
    ),
    ("no-homepage", _set("spec.homepage", _DELETE), "homepage"),
    ("no-version", _set("spec.version", ""), "version specified"),
    ("version-without-v", _set("spec.version", "0.1.0"), "semver"),
    ("version-two-parts", _set("spec.version", "v0.1"), "semver"),
    ("no-platforms", _set("spec.platforms", []), "platform specified"),
    ("no-uri", _set("spec.platforms.0.uri", ""), "`uri` has to be set"),
    (
        "uri-not-an-archive",
        _set("spec.platforms.0.uri", "https://example.invalid/kubectl-kserve_mn.tgz"),
        "archive",
    ),
    ("no-sha256", _set("spec.platforms.0.sha256", ""), "`sha256` sum has to be set"),
    ("uppercase-sha256", _set("spec.platforms.0.sha256", "A" * 64), "not valid"),
    ("short-sha256", _set("spec.platforms.0.sha256", "a" * 63), "not valid"),
    ("no-bin", _set("spec.platforms.0.bin", ""), "`bin` has to be set"),
    (
        "bin-escapes-install-dir",
        _set("spec.platforms.0.bin", "../kubectl-kserve_mn"),
        "inside the install dir",
    ),
    ("absolute-bin", _set("spec.platforms.0.bin", "/usr/bin/kubectl-kserve_mn"), "inside the install dir"),
    ("empty-files", _set("spec.platforms.0.files", []), "unspecified or non-empty"),
    ("files-without-to", _set("spec.platforms.0.files", [{"from": "*"}]), "`to` field"),
    ("files-without-from", _set("spec.platforms.0.files", [{"to": "."}]), "`from` field"),
    ("no-selector", _set("spec.platforms.0.selector", _DELETE), "nil selector"),
    ("empty-selector", _set("spec.platforms.0.selector", {}), "empty selector"),
    ("selector-other-key", _set("spec.platforms.0.selector.matchLabels.distro", "debian"), "not supported"),
    ("empty-match-labels", _set("spec.platforms.0.selector", {"matchLabels": {}}), "empty"),
    ("unsupported-os", _set("spec.platforms.0.selector.matchLabels.os", "plan9"), "no os/arch pair"),
    ("windows-bin-without-exe", _set("spec.platforms.4.bin", "kubectl-kserve_mn/kubectl-kserve_mn"), ".exe"),
    ("overlapping-selectors", _add_overlapping_platform, "more than one platform"),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [(m, e) for _, m, e in INVALID], ids=[i for i, _, _ in INVALID]
)
def test_validator_rejects_what_krew_rejects(
    manifest: dict[str, Any], mutate: Mutation, expected: str
) -> None:
    assert manifest["spec"]["platforms"][4]["selector"]["matchLabels"]["os"] == "windows"
    mutate(manifest)
    problems = km.validate(manifest, MANIFEST_PATH.name)
    assert any(expected in p for p in problems), problems


def test_validator_rejects_a_manifest_file_not_ending_in_yaml(manifest: dict[str, Any]) -> None:
    assert any(".yaml extension" in p for p in km.validate(manifest, "kserve-mn.yml"))


def test_validator_rejects_windows_reserved_plugin_names(manifest: dict[str, Any]) -> None:
    manifest["metadata"]["name"] = "nul"
    assert any("not allowed" in p for p in km.validate(manifest, "nul.yaml"))


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ({"matchLabels": {"os": "linux"}}, {"os": "linux", "arch": "arm64"}, True),
        ({"matchLabels": {"os": "linux", "arch": "amd64"}}, {"os": "linux", "arch": "arm64"}, False),
        (
            {"matchExpressions": [{"key": "os", "operator": "In", "values": ["darwin", "linux"]}]},
            {"os": "linux"},
            True,
        ),
        (
            {"matchExpressions": [{"key": "os", "operator": "NotIn", "values": ["windows"]}]},
            {"os": "windows"},
            False,
        ),
        ({"matchExpressions": [{"key": "arch", "operator": "Exists"}]}, {"os": "linux"}, False),
        ({"matchExpressions": [{"key": "arch", "operator": "DoesNotExist"}]}, {"os": "linux"}, True),
    ],
)
def test_selector_matching_follows_label_selector_semantics(
    selector: dict[str, Any], labels: dict[str, str], expected: bool
) -> None:
    assert km.selector_matches(selector, labels) is expected


# --- scripts/krew_manifest.py ---------------------------------------------------------------------


def _fake_archive(folder: Path, version: str, goos: str, goarch: str, payload: bytes) -> Path:
    path = folder / f"kubectl-kserve_mn_{version}_{goos}_{goarch}.tar.gz"
    path.write_bytes(payload)
    return path


def test_script_fills_uri_and_sha256_from_the_archives_and_keeps_the_rest(tmp_path: Path) -> None:
    linux = _fake_archive(tmp_path, SOURCE_VERSION, "linux", "amd64", b"linux bytes")
    darwin = _fake_archive(tmp_path, SOURCE_VERSION, "darwin", "arm64", b"darwin bytes")
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            str(linux),
            str(darwin),
            "--base-url",
            "https://downloads.invalid/rel/",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = yaml.safe_load(proc.stdout)
    template = yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))
    assert km.validate(out, MANIFEST_PATH.name) == []
    by_pair = {
        (p["selector"]["matchLabels"]["os"], p["selector"]["matchLabels"]["arch"]): p
        for p in out["spec"]["platforms"]
    }
    assert by_pair[("linux", "amd64")]["sha256"] == hashlib.sha256(b"linux bytes").hexdigest()
    assert by_pair[("linux", "amd64")]["uri"] == f"https://downloads.invalid/rel/{linux.name}"
    assert by_pair[("darwin", "arm64")]["sha256"] == hashlib.sha256(b"darwin bytes").hexdigest()
    untouched = [p for p in template["spec"]["platforms"] if p["selector"]["matchLabels"]["os"] == "windows"]
    assert by_pair[("windows", "amd64")] == untouched[0]
    assert out["spec"]["description"] == template["spec"]["description"]


def test_script_defaults_to_the_github_release_of_the_archives_version(tmp_path: Path) -> None:
    archive = _fake_archive(tmp_path, "v9.8.7", "linux", "arm64", b"x")
    template = km.load(MANIFEST_PATH)
    out, warnings = km.fill(template, [km.read_archive(archive)])
    assert out["spec"]["version"] == "v9.8.7"
    plat = km.platform_for(out, "linux", "arm64")
    assert plat is not None
    assert plat["uri"] == f"{template['spec']['homepage']}/releases/download/v9.8.7/{archive.name}"
    # The four platforms without an archive still point at the template's version.
    assert len(warnings) == 4


def test_script_writes_the_output_file_even_when_it_is_the_template(tmp_path: Path) -> None:
    target = tmp_path / "kserve-mn.yaml"
    target.write_text(MANIFEST_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    archive = _fake_archive(tmp_path, SOURCE_VERSION, "windows", "amd64", b"win")
    assert km.main([str(archive), "--template", str(target), "-o", str(target)]) == 0
    plat = km.platform_for(km.load(target), "windows", "amd64")
    assert plat is not None and plat["sha256"] == hashlib.sha256(b"win").hexdigest()


def test_script_refuses_archives_of_different_versions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _fake_archive(tmp_path, "v0.1.0", "linux", "amd64", b"a")
    b = _fake_archive(tmp_path, "v0.2.0", "linux", "arm64", b"b")
    assert km.main([str(a), str(b)]) == 2
    assert "different versions" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name",
    [
        "kubectl-kserve_mn_linux_amd64.tar.gz",
        "kubectl-kserve_mn_v0.1.0_linux_amd64.tgz",
        "kubectl-kserve_mn_v0.1.0_plan9_amd64.tar.gz",
        "other_v0.1.0_linux_amd64.tar.gz",
    ],
)
def test_archive_names_that_do_not_say_the_platform_are_rejected(name: str) -> None:
    with pytest.raises(ValueError):
        km.parse_archive_name(name)


# --- .krew.yaml (krew-release-bot template) -------------------------------------------------------


def _render_release_bot_template(tag: str, sha_for: Callable[[str], str]) -> str:
    """What krew-release-bot does with .krew.yaml (rajatjindal/krew-release-bot pkg/source/template.go):
    ``{{ .TagName }}`` becomes the tag, ``{{addURIAndSha "URL" .TagName}}`` becomes ``uri:`` and
    ``sha256:`` lines, the latter indented by four spaces."""
    text = TEMPLATE_PATH.read_text(encoding="utf-8")

    def add_uri_and_sha(match: re.Match[str]) -> str:
        url = match.group(1).replace("{{ .TagName }}", tag)
        return f"uri: {url}\n    sha256: {sha_for(url)}"

    text = re.sub(r'\{\{\s*addURIAndSha "([^"]+)" \.TagName\s*\}\}', add_uri_and_sha, text)
    assert "{{" in text  # spec.version
    text = text.replace("{{ .TagName }}", tag)
    assert "{{" not in text, "unrendered template action left"
    return text


def test_release_bot_template_renders_to_the_committed_manifest(manifest: dict[str, Any]) -> None:
    rendered = yaml.safe_load(_render_release_bot_template(SOURCE_VERSION, lambda url: "ab" * 32))
    assert km.validate(rendered, MANIFEST_PATH.name) == []
    for plat in manifest["spec"]["platforms"]:
        plat["sha256"] = "ab" * 32
    assert rendered == manifest


def test_release_bot_template_has_one_add_uri_and_sha_per_platform() -> None:
    text = TEMPLATE_PATH.read_text(encoding="utf-8")
    urls = re.findall(r'addURIAndSha "([^"]+)" \.TagName', text)
    assert len(urls) == len(km.RELEASE_PLATFORMS)
    names = {km.parse_archive_name(u.rsplit("/", 1)[1].replace("{{ .TagName }}", "v1.0.0"))[1:] for u in urls}
    assert names == set(km.RELEASE_PLATFORMS)


# --- the completion helper and the caveats that install it --------------------------------------------

HELPER = ROOT / "krew" / "kubectl_complete-kserve_mn"


def _caveat_copy_command(manifest: dict[str, Any]) -> str:
    lines = manifest["spec"]["caveats"].splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("cp "))
    return lines[start].strip().removesuffix("\\") + " " + lines[start + 1].strip()


def test_caveats_say_how_to_put_the_completion_helper_on_path_for_each_os(manifest: dict[str, Any]) -> None:
    caveats = manifest["spec"]["caveats"]
    assert max(len(line) for line in caveats.splitlines()) <= 80
    assert "kubectl_complete-kserve_mn" in _caveat_copy_command(manifest)
    assert "kubectl_complete-kserve_mn.cmd" in caveats and r"%USERPROFILE%\.krew\bin" in caveats


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell script")
def test_the_caveats_copy_command_installs_a_helper_that_asks_the_plugin_on_path(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    # The layout `kubectl krew install` leaves: store/<name>/<version>/ with the archive's files, and
    # bin/ with the link to the plugin (here a stand-in that prints its arguments).
    root = tmp_path / "krew"
    store = root / "store" / "kserve-mn" / manifest["spec"]["version"]
    store.mkdir(parents=True)
    (root / "bin").mkdir()
    (store / HELPER.name).write_bytes(HELPER.read_bytes())
    (store / HELPER.name).chmod(0o755)
    plugin = root / "bin" / "kubectl-kserve_mn"
    plugin.write_text('#!/bin/sh\nfor a in "$@"; do printf "[%s]" "$a"; done\necho\n')
    plugin.chmod(0o755)
    env = {"KREW_ROOT": str(root), "HOME": str(tmp_path), "PATH": f"{root / 'bin'}:/usr/bin:/bin"}
    subprocess.run(["sh", "-c", _caveat_copy_command(manifest)], env=env, check=True)
    copied = root / "bin" / HELPER.name
    assert copied.read_bytes() == HELPER.read_bytes() and os.access(copied, os.X_OK)
    # kubectl runs it with the plugin's words and the word being completed ("" for a new word).
    proc = subprocess.run(
        [HELPER.name, "check", "-n", ""], env=env, capture_output=True, text=True, check=True
    )
    assert proc.stdout == "[__complete][check][-n][]\n"


def test_the_windows_helper_is_a_cmd_with_windows_line_endings_that_runs_the_plugin() -> None:
    text = (ROOT / "krew" / "kubectl_complete-kserve_mn.cmd").read_bytes()
    assert text.endswith(b"\r\n") and b"\n" not in text.replace(b"\r\n", b"")
    assert text.splitlines()[-1] == b"kubectl-kserve_mn.exe __complete %*"
