#!/usr/bin/env python3
"""Generate kubectl_kserve_mn/inputs/crds/schemas.json from the KServe CRDs under tests/fixtures/crds/.

    python scripts/gen_crd_schemas.py           # rewrite the package data
    python scripts/gen_crd_schemas.py --check   # exit 1 if the package data is not what the fixtures give

The CRDs are 1-2 MB of YAML each (a YAML parse costs about a second); the package data keeps only what
validation needs (no descriptions) and stores each distinct schema subtree once across all CRDs (PodSpec
is inlined dozens of times), one node per line so a regenerated file diffs readably. Loading it costs a
few milliseconds. The CRD snapshot a KServe release uses is chosen in kubectl_kserve_mn/inputs/kserve_objects.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kubectl_kserve_mn.inputs.schema_nodes import SchemaPool  # noqa: E402

OUTPUT = REPO / "kubectl_kserve_mn" / "inputs" / "crds" / "schemas.json"

_ISVC_FAMILY = (
    "serving.kserve.io_inferenceservices.yaml",
    "serving.kserve.io_servingruntimes.yaml",
    "serving.kserve.io_clusterservingruntimes.yaml",
)
SOURCES: tuple[tuple[str, str], ...] = (
    *(
        (tag, f"tests/fixtures/crds/{tag}/{name}")
        for tag in ("v0.14.1", "v0.15.0", "master")
        for name in _ISVC_FAMILY
    ),
    *(
        (tag, f"tests/fixtures/crds/llmisvc/{tag}/serving.kserve.io_llminferenceservices.yaml")
        for tag in ("v0.16.0", "v0.17.0", "v0.18.0", "v0.19.0", "v0.20.0")
    ),
)
"""(KServe tag the CRD was taken at, fixture path relative to the repository)."""


def render(crds: Sequence[tuple[str, str, Mapping[str, Any]]]) -> str:
    """The package data for ``(tag, source path, parsed CRD)`` triples, as text."""
    pool = SchemaPool()
    entries: list[dict[str, Any]] = []
    for tag, source, crd in crds:
        spec = crd["spec"]
        versions = []
        for version in spec["versions"]:
            schema = version.get("schema", {}).get("openAPIV3Schema")
            versions.append(
                {
                    "name": version["name"],
                    "served": bool(version.get("served", False)),
                    "storage": bool(version.get("storage", False)),
                    "statusSubresource": "status" in (version.get("subresources") or {}),
                    "schema": None if schema is None else pool.add(schema),
                }
            )
        entries.append(
            {
                "tag": tag,
                "source": source,
                "group": spec["group"],
                "kind": spec["names"]["kind"],
                "plural": spec["names"]["plural"],
                "namespaced": spec["scope"] == "Namespaced",
                "preserveUnknownFields": bool(spec.get("preserveUnknownFields", False)),
                "versions": versions,
            }
        )
    dump = _dump
    lines = [
        "{",
        f'"generatedBy": {dump("scripts/gen_crd_schemas.py from the CRDs named in crds[].source")},',
        '"crds": [',
        ",\n".join(dump(entry) for entry in entries),
        "],",
        '"nodes": [',
        ",\n".join(dump(node) for node in pool.nodes),
        "]",
        "}",
    ]
    return "\n".join(lines) + "\n"


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def load_crds(repo: Path = REPO) -> list[tuple[str, str, Mapping[str, Any]]]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    crds = []
    for tag, source in SOURCES:
        with open(repo / source, encoding="utf-8") as handle:
            crds.append((tag, source, yaml.load(handle, Loader=loader)))
    return crds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compare instead of writing; exit 1 on a difference"
    )
    args = parser.parse_args(argv)
    text = render(load_crds())
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.is_file() else ""
        if current != text:
            print(
                f"{OUTPUT.relative_to(REPO)} is out of date: run scripts/gen_crd_schemas.py", file=sys.stderr
            )
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(REPO)} ({len(text.encode())} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
