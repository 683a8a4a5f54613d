"""``-f DIR`` and ``-R``: which files are read and in which order, as kubectl's ExpandPathsToFileVisitors.

The expected orders were checked against kubectl v1.32.4 (``kubectl get -f DIR [-R] -o name`` against a
server holding the same objects): hidden files and directories are read, ``.YAML`` and other extensions
are skipped inside a directory, names sort byte-wise with files and directories interleaved.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kubectl_kserve_mn.inputs import BadInput
from kubectl_kserve_mn.inputs.paths import expand


def tree(root: Path, *files: str) -> None:
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("kind: ConfigMap\n")


@pytest.fixture
def gitops(tmp_path: Path) -> Path:
    tree(
        tmp_path,
        "a.yaml",
        "b.yml",
        "c.json",
        "d.txt",
        "noext",
        "Z.YAML",
        ".hidden.yaml",
        ".yaml",
        "sub/e.yaml",
        "sub/.hid/f.yaml",
        ".hsub/g.yaml",
        "b/h.yaml",
    )
    return tmp_path


def names(root: Path, recursive: bool) -> list[str]:
    return [os.path.relpath(f.path, root) for f in expand(str(root), recursive=recursive)]


def test_a_directory_without_r_reads_its_own_json_yaml_and_yml_files_hidden_ones_too(gitops: Path) -> None:
    assert names(gitops, recursive=False) == [".hidden.yaml", ".yaml", "a.yaml", "b.yml", "c.json"]


def test_with_r_subdirectories_are_walked_in_filepath_walk_order(gitops: Path) -> None:
    assert names(gitops, recursive=True) == [
        ".hidden.yaml",
        ".hsub/g.yaml",
        ".yaml",
        "a.yaml",
        "b/h.yaml",  # the directory b sorts before the file b.yml: one sequence of names
        "b.yml",
        "c.json",
        "sub/.hid/f.yaml",
        "sub/e.yaml",
    ]


def test_files_found_in_a_directory_are_not_named_and_a_named_file_of_any_extension_is(gitops: Path) -> None:
    assert [f.named for f in expand(str(gitops), recursive=False)] == [False] * 5
    (only,) = expand(str(gitops / "d.txt"), recursive=False)
    assert (only.path, only.named) == (str(gitops / "d.txt"), True)
    assert expand("-", recursive=True)[0].path == "-"


def test_a_missing_path_is_left_to_the_reader_to_name(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.yaml")
    assert [f.path for f in expand(missing, recursive=False)] == [missing]


def test_a_directory_with_nothing_to_read_is_one_error_that_suggests_r_when_it_has_subdirectories(
    tmp_path: Path,
) -> None:
    tree(tmp_path, "deep/x/isvc.yaml", "README.md")
    with pytest.raises(BadInput) as caught:
        expand(str(tmp_path), recursive=False)
    assert caught.value.message == (
        f"{tmp_path}: no .json, .yaml or .yml file in this directory (the files kubectl reads from a "
        "directory); add -R to read its subdirectories"
    )
    assert len(expand(str(tmp_path), recursive=True)) == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BadInput) as caught:
        expand(str(empty), recursive=True)
    assert caught.value.message == (
        f"{empty}: no .json, .yaml or .yml file in this directory or its subdirectories (the files kubectl "
        "reads from a directory)"
    )


@pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt", reason="symbolic links")
def test_links_inside_a_directory_are_read_as_files_never_walked_and_a_linked_root_is_followed(
    tmp_path: Path,
) -> None:
    tree(tmp_path, "real/a.yaml", "real/sub/b.yaml")
    tree(tmp_path, "other/c.yaml")
    (tmp_path / "real" / "linked-dir").symlink_to(tmp_path / "other")
    (tmp_path / "real" / "linked.yaml").symlink_to(tmp_path / "other" / "c.yaml")
    root = tmp_path / "real"
    assert names(root, recursive=True) == ["a.yaml", "linked.yaml", "sub/b.yaml"]
    link = tmp_path / "link-to-real"
    link.symlink_to(root)
    assert names(link, recursive=False) == ["a.yaml", "linked.yaml"]


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root reads any directory")
def test_an_unreadable_subdirectory_is_one_input_error(tmp_path: Path) -> None:
    tree(tmp_path, "locked/a.yaml")
    (tmp_path / "locked").chmod(0)
    try:
        with pytest.raises(BadInput) as caught:
            expand(str(tmp_path), recursive=True)
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert caught.value.message.startswith(f"{tmp_path / 'locked'}: cannot read the directory: ")
