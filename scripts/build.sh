#!/usr/bin/env bash
# Build the kubectl-kserve_mn binary with PyInstaller for this platform and pack the Krew archive.
#
#   scripts/build.sh [--mode onedir|onefile|both] [--python PYTHON] [--keep-venv]
#
# - A fresh virtual environment under build/venv gets `pip install .` and PyInstaller (--keep-venv
#   reuses an existing one, for quick local rebuilds; CI and releases always start fresh).
# - onedir (default, the release mode; why: docs/packaging.md) is packed as
#     dist/kubectl-kserve_mn_<version>_<os>_<arch>.tar.gz
#   holding LICENSE, kubectl-kserve_mn/{kubectl-kserve_mn[.exe],_internal/...} and the completion
#   helper kubectl_complete-kserve_mn (.cmd on Windows; from krew/, see the manifest's caveats); os/arch
#   are Go's names (linux, darwin, windows; amd64, arm64) and <version> is v + kubectl_kserve_mn.__version__.
#   The archive holds only regular files and folders: Krew's tar extractor rejects links, so links
#   that PyInstaller leaves in the bundle are stored as copies.
# - onefile builds build/pyinstaller/onefile/dist/kubectl-kserve_mn[.exe] without an archive; it
#   exists to be measured against onedir (scripts/bench_startup.py). `both` builds the two.
# Prints the archive path and its sha256 on the last two lines (also written to <archive>.sha256).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode=onedir
python="${PYTHON:-python3}"
keep_venv=0
while [ $# -gt 0 ]; do
  case "$1" in
    --mode) mode="$2"; shift 2 ;;
    --mode=*) mode="${1#--mode=}"; shift ;;
    --python) python="$2"; shift 2 ;;
    --python=*) python="${1#--python=}"; shift ;;
    --keep-venv) keep_venv=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
case "$mode" in
  onedir|onefile|both) ;;
  *) echo "build.sh: --mode must be onedir, onefile or both" >&2; exit 2 ;;
esac

cd "$root"
start=$(date +%s)
venv="$root/build/venv"
if [ "$keep_venv" = 1 ] && [ -d "$venv" ]; then
  echo "build.sh: reusing $venv" >&2
else
  rm -rf "$venv"
  "$python" -m venv "$venv"
fi
if [ -x "$venv/Scripts/python.exe" ]; then vpy="$venv/Scripts/python.exe"; exe_suffix=.exe
else vpy="$venv/bin/python"; exe_suffix=; fi
# kubectl finds kubectl_complete-kserve_mn on PATH through PATHEXT on Windows: a .cmd there.
if [ -n "$exe_suffix" ]; then completion_helper=krew/kubectl_complete-kserve_mn.cmd
else completion_helper=krew/kubectl_complete-kserve_mn; fi

"$vpy" -m pip install --quiet --disable-pip-version-check "$root" "pyinstaller>=6.0,<7"

# The one source of the version is kubectl_kserve_mn.__version__; the platform names are the ones
# the binary itself reports (kubectl kserve-mn version).
read -r version goos goarch < <("$vpy" -c '
from kubectl_kserve_mn.cli.version import go_platform, plugin_version
print(plugin_version(), *go_platform())' | tr -d '\r')

build_one() {  # $1 = onedir|onefile
  local m="$1"
  rm -rf "build/pyinstaller/$m"
  KSERVE_MN_BUILD_MODE="$m" "$vpy" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "build/pyinstaller/$m/dist" --workpath "build/pyinstaller/$m/work" \
    scripts/kubectl-kserve_mn.spec
}

check_binary() {  # $1 = path: it must run and report the version this build is for
  local out
  out="$("$1" version --client | head -n 1 | tr -d '\r')"
  if [ "$out" != "Plugin Version: $version" ]; then
    echo "build.sh: $1 version --client printed '$out', expected 'Plugin Version: $version'" >&2
    exit 1
  fi
}

if [ "$mode" = onefile ] || [ "$mode" = both ]; then
  build_one onefile
  check_binary "build/pyinstaller/onefile/dist/kubectl-kserve_mn$exe_suffix"
  echo "build.sh: onefile binary: build/pyinstaller/onefile/dist/kubectl-kserve_mn$exe_suffix" >&2
fi
if [ "$mode" = onefile ]; then
  echo "build.sh: done in $(( $(date +%s) - start ))s (no archive for onefile)" >&2
  exit 0
fi

build_one onedir
check_binary "build/pyinstaller/onedir/dist/kubectl-kserve_mn/kubectl-kserve_mn$exe_suffix"

mkdir -p dist
archive="dist/kubectl-kserve_mn_${version}_${goos}_${goarch}.tar.gz"
"$vpy" - "build/pyinstaller/onedir/dist/kubectl-kserve_mn" LICENSE "$archive" "$completion_helper" <<'PY'
"""Pack LICENSE, the onedir bundle and the completion helper as a deterministic .tar.gz of regular files
and folders only."""
import gzip
import hashlib
import os
import sys
import tarfile

bundle, license_path, archive, helper = sys.argv[1:5]
# Fixed timestamps make rebuilds of the same tree byte-identical (SOURCE_DATE_EPOCH if set).
mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))  # 1980-01-01, as zip's epoch


def info(name: str, path: str, is_dir: bool) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.mtime = mtime
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    if is_dir:
        ti.type = tarfile.DIRTYPE
        ti.mode = 0o755
    else:
        ti.type = tarfile.REGTYPE
        ti.size = os.path.getsize(path)
        ti.mode = 0o755 if os.access(path, os.X_OK) or path.endswith(".cmd") else 0o644
    return ti


def add_file(tar: tarfile.TarFile, name: str, path: str) -> None:
    with open(path, "rb") as fh:  # open() follows links: a link is stored as the file it points to
        tar.addfile(info(name, path, False), fh)


def add_tree(tar: tarfile.TarFile, name: str, path: str) -> None:
    tar.addfile(info(name, path, True))
    for entry in sorted(os.listdir(path)):
        child, child_name = os.path.join(path, entry), f"{name}/{entry}"
        if os.path.isdir(child):  # follows links to folders
            add_tree(tar, child_name, child)
        else:
            add_file(tar, child_name, child)


tmp = archive + ".tmp"
with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
    with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        add_file(tar, "LICENSE", license_path)
        add_tree(tar, os.path.basename(bundle.rstrip("/")), bundle)
        add_file(tar, os.path.basename(helper), helper)
os.replace(tmp, archive)

digest = hashlib.sha256()
with open(archive, "rb") as fh:
    for block in iter(lambda: fh.read(1 << 20), b""):
        digest.update(block)
with open(archive + ".sha256", "w", encoding="utf-8") as fh:
    fh.write(f"{digest.hexdigest()}  {os.path.basename(archive)}\n")
PY

sha="$(cut -d' ' -f1 "$archive.sha256")"
size="$(wc -c < "$archive" | tr -d ' ')"
echo "build.sh: built $archive ($size bytes) in $(( $(date +%s) - start ))s" >&2
echo "$archive"
echo "$sha"
