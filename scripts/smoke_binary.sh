#!/usr/bin/env bash
# Smoke tests of the built binary, as a user runs it after `kubectl krew install`.
#
#   scripts/smoke_binary.sh [ARCHIVE]     (default: the newest dist/kubectl-kserve_mn_*.tar.gz)
#
# Unpacks the archive into a temporary install dir, links bin/kubectl-kserve_mn to the executable
# inside it (as Krew does), puts that bin dir first on PATH, and checks, with no kubeconfig at all:
#   --help (directly and as `kubectl kserve-mn --help`), each sub-command's --help (all bundled),
#   version --client, version -o json --client
#   (the version in the archive name, the binary and the package agree), and
#   plan --nodes-file examples/cluster-2x8-h100.yaml --gpus 16 (a PP=2 x TP=8 layout, exit 0),
#   and shell completion: the archive's kubectl_complete-kserve_mn copied into the bin dir as the
#   manifest's caveats say, then `kubectl __complete kserve-mn ...`, and `completion bash`.
# The faithful Krew install emulation (manifest, sha256, files, licence) is tests/test_krew_install.py.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
archive="${1:-}"
if [ -z "$archive" ]; then
  archive="$(ls -t dist/kubectl-kserve_mn_*.tar.gz 2>/dev/null | head -n 1 || true)"
fi
if [ -z "$archive" ] || [ ! -f "$archive" ]; then
  echo "smoke_binary.sh: no archive (run scripts/build.sh first)" >&2
  exit 2
fi
python="${PYTHON:-python3}"

name="$(basename "$archive")"
version="$(echo "$name" | sed -E 's/^kubectl-kserve_mn_(v[^_]+)_[a-z0-9]+_[a-z0-9]+\.tar\.gz$/\1/')"
if [ "$version" = "$name" ]; then
  echo "smoke_binary.sh: $name is not named kubectl-kserve_mn_<version>_<os>_<arch>.tar.gz" >&2
  exit 2
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/kserve-mn-smoke.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/store" "$work/bin" "$work/home"
tar -xzf "$archive" -C "$work/store"
exe="$work/store/kubectl-kserve_mn/kubectl-kserve_mn"
[ -f "$exe.exe" ] && exe="$exe.exe"
ln -s "$exe" "$work/bin/kubectl-kserve_mn"

# No kubeconfig anywhere: the smoke tests must not need (or find) a cluster.
export HOME="$work/home" KUBECONFIG="$work/home/no-such-kubeconfig" PATH="$work/bin:$PATH"
unset KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT

failures=0
passes=0
pass() { echo "ok   - $1"; passes=$((passes + 1)); }
fail() { echo "FAIL - $1" >&2; failures=$((failures + 1)); }
run() {  # run CMD...: sets $out and $rc, never exits
  set +e
  out="$("$@" 2>&1)"
  rc=$?
  set -e
}

run kubectl-kserve_mn --help
if [ "$rc" = 0 ] && grep -q '^Usage: kubectl kserve-mn' <<<"$out" && grep -q 'version' <<<"$out"; then
  pass "--help through the Krew-style link (usage says 'kubectl kserve-mn')"
else fail "--help (exit $rc): $out"; fi

run kubectl kserve-mn --help
if [ "$rc" = 0 ] && grep -q '^Usage: kubectl kserve-mn' <<<"$out"; then pass "kubectl kserve-mn --help"
else fail "kubectl kserve-mn --help (exit $rc): $out"; fi

# Every sub-command is imported lazily (importlib): its --help proves PyInstaller bundled it.
# ("__" commands are hidden protocol commands without --help.)
for verb in $("$python" -c 'import sys; sys.path.insert(0, sys.argv[1]); from kubectl_kserve_mn.cli import COMMANDS; print(*(c for c in COMMANDS if not c.startswith("_")))' "$root"); do
  run kubectl-kserve_mn "$verb" --help
  if [ "$rc" = 0 ] && grep -q "^Usage: kubectl kserve-mn $verb" <<<"$out"; then pass "$verb --help (bundled)"
  else fail "$verb --help (exit $rc): $out"; fi
done

run kubectl-kserve_mn version --client
if [ "$rc" = 0 ] && grep -qx "Plugin Version: $version" <<<"$out" && grep -q '^Python Version: ' <<<"$out"; then
  pass "version --client prints $version"
else fail "version --client (exit $rc, expected Plugin Version: $version): $out"; fi

run kubectl-kserve_mn version --client -o json
if [ "$rc" = 0 ] && OUT="$out" "$python" - "$version" "$root" <<'PY'
import json, os, re, sys
data = json.loads(os.environ["OUT"])
expected, root = sys.argv[1], sys.argv[2]
init = open(f"{root}/kubectl_kserve_mn/__init__.py", encoding="utf-8").read()
source = "v" + re.search(r'__version__ = "([^"]+)"', init).group(1)
assert data["plugin"]["version"] == expected == source, (data["plugin"]["version"], expected, source)
assert re.match(r"^\d+\.\d+\.\d+", data["plugin"]["python"]), data["plugin"]["python"]
assert data["kserve"] is None, data["kserve"]
PY
then pass "version --client -o json: archive name, binary and __version__ agree on $version"
else fail "version --client -o json (exit $rc): $out"; fi

cluster_file=examples/cluster-2x8-h100.yaml
if [ -f "$cluster_file" ]; then
  run kubectl-kserve_mn plan --nodes-file "$cluster_file" --gpus 16
  if [ "$rc" = 0 ] && grep -Eq 'PP *= *2 *[x×] *TP *= *8' <<<"$out"; then
    pass "plan on $cluster_file --gpus 16 gives PP=2 x TP=8"
  else fail "plan --nodes-file $cluster_file --gpus 16 (exit $rc, expected PP=2 x TP=8): $out"; fi
else
  fail "$cluster_file is missing"
fi

helper="$work/store/kubectl_complete-kserve_mn"
if [ -f "$helper" ]; then
  cp "$helper" "$work/bin/"
  run kubectl __complete kserve-mn ""
  if [ "$rc" = 0 ] && grep -q '^check' <<<"$out" && grep -qx ':4' <<<"$out"; then
    pass "kubectl __complete kserve-mn: the commands, through the archive's completion helper"
  else fail "kubectl __complete kserve-mn (exit $rc): $out"; fi
  run kubectl_complete-kserve_mn plan -o ""
  if [ "$rc" = 0 ] && [ "$out" = "$(printf 'table\nwide\njson\nyaml\n:4')" ]; then
    pass "kubectl_complete-kserve_mn plan -o: the output formats"
  else fail "kubectl_complete-kserve_mn plan -o (exit $rc): $out"; fi
else
  fail "the archive has no kubectl_complete-kserve_mn"
fi

run kubectl-kserve_mn completion bash
if [ "$rc" = 0 ] && grep -q '__complete' <<<"$out" && grep -q '^complete .*kubectl-kserve_mn$' <<<"$out"; then
  pass "completion bash prints the script"
else fail "completion bash (exit $rc): $out"; fi

echo "smoke: $passes passed, $failures failed"
if [ "$failures" -gt 0 ]; then
  echo "smoke_binary.sh: smoke tests failed for $archive" >&2
  exit 1
fi
