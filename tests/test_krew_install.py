"""Install the release archive the way Krew does, then run it with the real kubectl.

The archive is $KSERVE_MN_ARCHIVE or the newest dist/kubectl-kserve_mn_*.tar.gz (scripts/build.sh
makes it; .ci/run builds before the tests). Nothing is built here; without an archive the tests skip.

Krew itself cannot be fetched offline, so ``krew_install`` below does what ``kubectl krew install
--manifest=M --archive=A`` does (kubernetes-sigs/krew):
- pick the first platform whose selector matches this os/arch (pkg/installation/platform.go);
- check the archive's sha256 against the platform's (pkg/download/verifier.go);
- extract it, accepting only folders and regular files in a .tar.gz (pkg/download/downloader.go,
  extractTARGZ: "unable to handle file type");
- move ``files`` (default ``[{from: "*", to: "."}]``) from the extract dir into
  store/<name>/<version> (pkg/installation/move.go);
- require ``bin`` to exist inside the install dir and link bin/kubectl-<name with _> to it
  (pkg/installation/install.go, createOrUpdateLink);
and, as validate-krew-manifest does after installing, require a licence file in the install dir.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

import kubectl_kserve_mn
from tests.fakeapi import FakeKubeAPI
from tests.fixture_files import load_script
from tests.nodes import controller_deployment

ROOT = Path(__file__).resolve().parent.parent
KUBECTL = shutil.which("kubectl")


km = load_script("krew_manifest")


def _find_archive() -> Path | None:
    env = os.environ.get("KSERVE_MN_ARCHIVE")
    if env:
        return Path(env)
    found = sorted((ROOT / "dist").glob("kubectl-kserve_mn_*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


ARCHIVE = _find_archive()
needs_archive = pytest.mark.skipif(
    ARCHIVE is None, reason="no release archive: run scripts/build.sh (or set KSERVE_MN_ARCHIVE)"
)
posix_only = pytest.mark.skipif(os.name == "nt", reason="Krew copies instead of linking on Windows")


class KrewError(Exception):
    pass


# --- the emulation of `kubectl krew install --manifest --archive` -----------------------------------


def _extract_tar_gz(archive: Path, target: Path) -> None:
    data = archive.read_bytes()
    if data[:2] != b"\x1f\x8b":  # Krew sniffs the MIME type: application/x-gzip or application/zip
        raise KrewError(f"{archive.name}: not a gzip archive")
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            if member.name == "pax_global_header":
                continue
            path = (target / member.name).resolve()
            if not path.is_relative_to(target.resolve()):
                raise KrewError(f"{member.name!r} leaves the extract dir")
            if member.isdir():
                path.mkdir(parents=True, exist_ok=True)
            elif member.isreg():
                path.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None
                with source, path.open("wb") as out:
                    shutil.copyfileobj(source, out)
                path.chmod(member.mode & 0o7777)
            else:
                raise KrewError(f"unable to handle file type {member.type!r} for {member.name!r} in tar")


def _move_files(extract: Path, install: Path, ops: list[dict[str, str]]) -> None:
    for op in ops:
        src, dst = op["from"], op["to"]
        direct = extract / src
        if direct.exists():  # a plain path, not a glob
            target = install / (direct.name if os.path.normpath(dst) == "." else dst)
            target.parent.mkdir(parents=True, exist_ok=True)
            direct.rename(target)
            continue
        # Go's filepath.Glob: "*" also matches names starting with a dot.
        parent = extract / os.path.dirname(src)
        pattern = os.path.basename(src)
        dest_dir = install / dst
        dest_dir.mkdir(parents=True, exist_ok=True)
        for name in sorted(os.listdir(parent)) if parent.is_dir() else []:
            if fnmatch.fnmatchcase(name, pattern):
                (parent / name).rename(dest_dir / name)


def krew_install(manifest: dict[str, Any], archive: Path, root: Path, goos: str, goarch: str) -> Path:
    """Install like Krew into ``root`` (KREW_ROOT); returns the link bin/kubectl-<name>."""
    name: str = manifest["metadata"]["name"]
    platform = km.platform_for(manifest, goos, goarch)
    if platform is None:
        raise KrewError(f"plugin {name!r} does not offer installation for {goos}/{goarch}")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if digest != platform["sha256"]:
        raise KrewError(f"checksum does not match, want: {platform['sha256']}, got {digest}")
    extract = root / "download" / name
    extract.mkdir(parents=True)
    _extract_tar_gz(archive, extract)
    install = root / "store" / name / manifest["spec"]["version"]
    install.mkdir(parents=True)
    _move_files(extract, install, platform.get("files") or [{"from": "*", "to": "."}])
    shutil.rmtree(root / "download")
    if not any(p.name.lower() in km.LICENSE_NAMES for p in install.iterdir() if p.is_file()):
        raise KrewError(f"no licence file in the install dir {install}")
    binary = (install / platform["bin"]).resolve()
    if not binary.is_relative_to(install.resolve()) or not binary.exists():
        raise KrewError(
            f"can't create symbolic link, source binary ({binary}) cannot be found in extracted archive"
        )
    bin_dir = root / "bin"
    bin_dir.mkdir(exist_ok=True)
    link = bin_dir / ("kubectl-" + name.replace("-", "_"))
    link.symlink_to(binary)
    return link


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], dict[str, str]]:
    """The archive installed Krew-style: (link, manifest, environment with the Krew bin dir on PATH)."""
    assert ARCHIVE is not None
    from kubectl_kserve_mn.cli.version import go_platform

    goos, goarch = go_platform()
    # The manifest the release workflow publishes: the template with this archive's uri and sha256.
    manifest, _ = km.fill(km.load(km.DEFAULT_TEMPLATE), [km.read_archive(ARCHIVE)], ARCHIVE.parent.as_uri())
    assert km.validate(manifest, km.DEFAULT_TEMPLATE.name) == []
    root = tmp_path_factory.mktemp("krew-root")
    link = krew_install(manifest, ARCHIVE, root, goos, goarch)
    home = tmp_path_factory.mktemp("home")
    env = dict(os.environ, HOME=str(home), KUBECONFIG=str(home / "no-kubeconfig"))
    env.pop("KUBERNETES_SERVICE_HOST", None)
    assert KUBECTL is not None
    env["PATH"] = os.pathsep.join([str(link.parent), os.path.dirname(KUBECTL)])
    return link, manifest, env


# --- the archive ----------------------------------------------------------------------------------


@needs_archive
def test_archive_holds_only_folders_and_regular_files_with_license_on_top() -> None:
    assert ARCHIVE is not None
    with tarfile.open(ARCHIVE, "r:gz") as tar:
        members = tar.getmembers()
    bad = [m.name for m in members if not (m.isdir() or m.isreg())]
    assert bad == []
    top = {m.name.split("/")[0] for m in members}
    helper = "kubectl_complete-kserve_mn" + (".cmd" if "_windows_" in ARCHIVE.name else "")
    assert top == {"LICENSE", "kubectl-kserve_mn", helper}
    assert (ROOT / "LICENSE").read_bytes() == _read_member(ARCHIVE, "LICENSE")
    assert (ROOT / "krew" / helper).read_bytes() == _read_member(ARCHIVE, helper)
    assert next(m for m in members if m.name == helper).mode == 0o755


def _read_member(archive: Path, name: str) -> bytes:
    with tarfile.open(archive, "r:gz") as tar:
        source = tar.extractfile(name)
        assert source is not None
        return source.read()


@needs_archive
def test_archive_name_binary_and_package_agree_on_the_version(
    installed: tuple[Path, dict[str, Any], dict[str, str]],
) -> None:
    assert ARCHIVE is not None
    link, manifest, env = installed
    version, _, _ = km.parse_archive_name(ARCHIVE.name)
    proc = subprocess.run(
        [str(link), "version", "--client", "-o", "json"], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    reported = json.loads(proc.stdout)["plugin"]["version"]
    assert reported == version == manifest["spec"]["version"] == "v" + kubectl_kserve_mn.__version__


# --- the Krew-style install, seen by the real kubectl ----------------------------------------------


@needs_archive
@posix_only
@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
def test_kubectl_plugin_list_finds_the_krew_installed_plugin(
    installed: tuple[Path, dict[str, Any], dict[str, str]],
) -> None:
    link, _, env = installed
    proc = subprocess.run([str(KUBECTL), "plugin", "list"], capture_output=True, text=True, env=env)
    assert str(link) in proc.stdout.splitlines(), proc.stdout + proc.stderr
    # kubectl warns here about plugins that are not executable or are shadowed.
    assert "kubectl-kserve_mn" not in proc.stderr, proc.stderr


@needs_archive
@posix_only
@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
@pytest.mark.parametrize("command", ["kserve-mn", "kserve_mn"])
def test_kubectl_runs_the_plugin_help_through_the_symlink(
    installed: tuple[Path, dict[str, Any], dict[str, str]], command: str
) -> None:
    _, _, env = installed
    proc = subprocess.run([str(KUBECTL), command, "--help"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Usage: kubectl kserve-mn ")
    for verb in ("plan", "check", "fix", "version"):
        assert f"  {verb} " in proc.stdout


@needs_archive
@posix_only
@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
def test_kubectl_runs_version_without_a_cluster(
    installed: tuple[Path, dict[str, Any], dict[str, str]],
) -> None:
    _, manifest, env = installed
    proc = subprocess.run([str(KUBECTL), "kserve-mn", "version"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == f"Plugin Version: {manifest['spec']['version']}"


@needs_archive
@posix_only
@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
def test_installed_binary_reads_kserve_from_a_cluster_over_https(
    installed: tuple[Path, dict[str, Any], dict[str, str]], fake_api: FakeKubeAPI, kubeconfig: Path
) -> None:
    # Proves the bundle carries a working kubernetes client (TLS, kubeconfig loading) for the lazy commands.
    _, _, env = installed
    fake_api.add(controller_deployment("kserve/kserve-controller:v0.16.0"))
    proc = subprocess.run(
        [str(KUBECTL), "kserve-mn", "version", "-o", "json"],
        capture_output=True,
        text=True,
        env=dict(env, KUBECONFIG=str(kubeconfig)),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["kserve"]["version"] == "v0.16.0"


@needs_archive
@posix_only
@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
def test_kubectl_completes_the_plugin_once_the_helper_is_copied_as_the_caveats_say(
    installed: tuple[Path, dict[str, Any], dict[str, str]], fake_api: FakeKubeAPI, kubeconfig: Path
) -> None:
    link, manifest, env = installed
    root = link.parent.parent
    helper = link.parent / "kubectl_complete-kserve_mn"
    if not helper.exists():
        shutil.copy2(root / "store" / "kserve-mn" / manifest["spec"]["version"] / helper.name, helper)
    proc = subprocess.run(
        [str(KUBECTL), "__complete", "kserve-mn", ""], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert [line.split("\t")[0] for line in proc.stdout.splitlines()] == [
        "plan", "check", "fix", "version", "completion", "help", ":4"
    ]  # fmt: skip
    # The bundled binary looks names up in the cluster too.
    fake_api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-b"}})
    proc = subprocess.run(
        [str(KUBECTL), "__complete", "kserve-mn", "check", "-n", "team"],
        capture_output=True,
        text=True,
        env=dict(env, KUBECONFIG=str(kubeconfig), KSERVE_MN_COMPLETION_TIMEOUT="60"),
        timeout=120,
    )
    assert proc.stdout.splitlines() == ["team-b", ":4"], proc.stderr


# --- the emulation itself rejects what Krew rejects --------------------------------------------------


def _small_archive(folder: Path, with_symlink: bool, with_license: bool = True) -> Path:
    src = folder / "src"
    (src / "kubectl-kserve_mn").mkdir(parents=True)
    exe = src / "kubectl-kserve_mn" / "kubectl-kserve_mn"
    exe.write_text("#!/bin/sh\necho hi\n")
    exe.chmod(0o755)
    if with_license:
        (src / "LICENSE").write_text("licence\n")
    if with_symlink:
        (src / "kubectl-kserve_mn" / "alias").symlink_to("kubectl-kserve_mn")
    archive: Path = folder / km.archive_name("v0.1.0", "linux", "amd64")
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(src.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(src)), recursive=False)
    return archive


def _manifest_for(archive: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = km.fill(
        km.load(km.DEFAULT_TEMPLATE), [km.read_archive(archive)], archive.parent.as_uri()
    )[0]
    return manifest


@posix_only
def test_emulated_krew_installs_a_well_formed_archive(tmp_path: Path) -> None:
    archive = _small_archive(tmp_path, with_symlink=False)
    link = krew_install(_manifest_for(archive), archive, tmp_path / "root", "linux", "amd64")
    assert link.name == "kubectl-kserve_mn" and link.is_symlink()
    assert subprocess.run([str(link)], capture_output=True, text=True).stdout == "hi\n"


@posix_only
def test_emulated_krew_rejects_links_in_the_archive(tmp_path: Path) -> None:
    archive = _small_archive(tmp_path, with_symlink=True)
    with pytest.raises(KrewError, match="unable to handle file type"):
        krew_install(_manifest_for(archive), archive, tmp_path / "root", "linux", "amd64")


@posix_only
def test_emulated_krew_rejects_a_wrong_checksum(tmp_path: Path) -> None:
    archive = _small_archive(tmp_path, with_symlink=False)
    manifest = _manifest_for(archive)
    archive.write_bytes(archive.read_bytes() + b"\0")
    with pytest.raises(KrewError, match="checksum"):
        krew_install(manifest, archive, tmp_path / "root", "linux", "amd64")


@posix_only
def test_emulated_krew_requires_a_licence_file(tmp_path: Path) -> None:
    archive = _small_archive(tmp_path, with_symlink=False, with_license=False)
    with pytest.raises(KrewError, match="licence"):
        krew_install(_manifest_for(archive), archive, tmp_path / "root", "linux", "amd64")


@posix_only
def test_emulated_krew_refuses_a_platform_the_manifest_lacks(tmp_path: Path) -> None:
    archive = _small_archive(tmp_path, with_symlink=False)
    with pytest.raises(KrewError, match="does not offer"):
        krew_install(_manifest_for(archive), archive, tmp_path / "root", "linux", "ppc64le")
