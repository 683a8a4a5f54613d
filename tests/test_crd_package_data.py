"""The CRD schemas shipped as package data are what scripts/gen_crd_schemas.py makes of the fixtures.

Parsing the fixture CRDs (about 20 MB of YAML) takes some 20 s, so their JSON form is cached in
``$TMPDIR/kserve-mn-crd-json/``, keyed by the content hash of each file.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from kubectl_kserve_mn.inputs import kserve_objects
from tests.fixture_files import REPO, load_script

gen = load_script("gen_crd_schemas")


def _parsed(path: Path) -> Any:
    raw = path.read_bytes()
    cached = Path(tempfile.gettempdir()) / "kserve-mn-crd-json" / f"{hashlib.sha256(raw).hexdigest()}.json"
    if cached.is_file():
        return json.loads(cached.read_bytes())
    data = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, cached)
    return data


def test_the_package_data_is_regenerated_from_the_fixture_crds_unchanged() -> None:
    crds = [(tag, source, _parsed(REPO / source)) for tag, source in gen.SOURCES]
    assert gen.render(crds) == gen.OUTPUT.read_text(encoding="utf-8"), (
        "kubectl_kserve_mn/inputs/crds/schemas.json is out of date: run scripts/gen_crd_schemas.py"
    )


def test_the_package_data_holds_every_kind_and_tag_the_validator_maps_releases_to() -> None:
    catalog = kserve_objects._catalog()
    for kind, snapshots in kserve_objects._SNAPSHOTS.items():
        for _, tag in snapshots:
            assert catalog[(kind, tag)], (kind, tag)
    assert {source for _, source in gen.SOURCES} == {
        entry["source"] for entry in json.loads(gen.OUTPUT.read_text(encoding="utf-8"))["crds"]
    }


def test_every_source_crd_has_its_provenance_written_down() -> None:
    readme = (REPO / "tests" / "fixtures" / "crds" / "README.md").read_text(encoding="utf-8")
    for tag, source in gen.SOURCES:
        relative = Path(source).relative_to("tests/fixtures/crds")
        assert (REPO / source).is_file()
        if relative.parts[0] == "llmisvc":
            assert f"| {relative} |" in readme
        else:
            assert f"| {relative.parts[0]}/serving.kserve.io_" in readme, tag


def test_the_package_data_ships_with_pip_and_with_the_binary() -> None:
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    shipped = [entry.strip() for entry in config["options.package_data"]["kubectl_kserve_mn"].split(",")]
    assert "inputs/crds/*.json" in shipped
    assert (REPO / "kubectl_kserve_mn" / "inputs" / "crds" / "schemas.json").is_file()
    spec = (REPO / "scripts" / "kubectl-kserve_mn.spec").read_text(encoding="utf-8")
    assert 'collect_data_files("kubectl_kserve_mn")' in spec
    assert "datas=datas" in spec
