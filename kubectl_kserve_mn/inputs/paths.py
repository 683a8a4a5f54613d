"""``-f FILE|DIR`` with ``-R``: the files kubectl would read, in the order it reads them.

kubectl's ``ExpandPathsToFileVisitors`` (kubernetes/cli-runtime@69e8693b2560484b0b950d56006157200ab67947
pkg/resource/visitor.go, with ``FileExtensions`` and ``Builder.Path`` in builder.go):

- a file named on the command line is read whatever its extension (``-f isvc.txt``); ``-`` is standard input;
- a directory is read for its ``.json``, ``.yaml`` and ``.yml`` files (the extension as written: ``.YAML``
  is skipped), hidden files included; without ``-R`` only its own files, with ``-R`` its subdirectories too
  (hidden ones included);
- the order is ``filepath.Walk``'s: names sorted byte-wise, a directory's files and subdirectories in one
  sequence (``a.yaml`` < ``b/`` < ``c.yaml``), so a run reads the same files in the same order every time;
- symbolic links inside a directory are not followed into directories (one named ``x.yaml`` is read as a
  file, which fails when it points at a directory).

Where this differs from kubectl, on purpose: a symbolic link given as the directory itself is followed
(kubectl tries to read it as a file and fails with "is a directory"), and every directory given must
yield at least one file (kubectl complains only when none of the ``-f`` paths so far gave one, so
``-f empty/ -f good/`` fails and ``-f good/ -f empty/`` passes).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from kubectl_kserve_mn.inputs.documents import STDIN
from kubectl_kserve_mn.inputs.problems import BadInput

EXTENSIONS = (".json", ".yaml", ".yml")
"""cli-runtime's ``FileExtensions``: what a directory is read for."""


@dataclass(frozen=True)
class InputFile:
    path: str
    named: bool
    """Named on the command line (an empty one is an error), not found in a directory (an empty one is
    skipped, as kubectl skips it)."""


def expand(path: str, *, recursive: bool) -> list[InputFile]:
    """The files ``-f path`` reads (``recursive``: ``-R``). A path that is no directory is returned as it is
    (reading it says what is wrong with it); a directory without a file to read is :class:`BadInput`."""
    if path == STDIN or not os.path.isdir(path):
        return [InputFile(path, named=True)]
    found: list[InputFile] = []
    _walk(path, recursive, found)
    if not found:
        where = "this directory or its subdirectories" if recursive else "this directory"
        hint = "" if recursive or not _has_subdirectories(path) else "; add -R to read its subdirectories"
        raise BadInput(
            f"no .json, .yaml or .yml file in {where} (the files kubectl reads from a directory){hint}",
            source=path,
        )
    return found


def _walk(root: str, recursive: bool, found: list[InputFile]) -> None:
    """Depth first, each directory's entries in byte order (``filepath.Walk``), without recursion: a deep tree
    is not a crash."""
    stack = [iter(_entries(root))]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        if _is_directory(entry):
            if recursive:
                stack.append(iter(_entries(entry.path)))
        elif _extension(entry.name) in EXTENSIONS:
            found.append(InputFile(entry.path, named=False))


def _entries(directory: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as scan:
            return sorted(scan, key=lambda e: os.fsencode(e.name))
    except OSError as err:
        raise BadInput(f"cannot read the directory: {err.strerror or err}", source=directory) from None


def _is_directory(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:  # it vanished or cannot be looked at: read as a file, which then says what is wrong
        return False


def _extension(name: str) -> str:
    """Go's ``filepath.Ext``: from the last dot on, so ``.yaml`` and ``..yaml`` have one (Python's
    ``splitext`` says they have none)."""
    dot = name.rfind(".")
    return name[dot:] if dot >= 0 else ""


def _has_subdirectories(directory: str) -> bool:
    try:
        with os.scandir(directory) as scan:
            return any(entry.is_dir(follow_symlinks=False) for entry in scan)
    except OSError:
        return False
