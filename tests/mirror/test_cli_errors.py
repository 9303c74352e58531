"""Every ``weatherinsight mirror`` subcommand given a missing or non-mirror directory ends with one ``error:``
line naming the path (exit 2), never a traceback; ``build`` refuses a file or a directory of other files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from weatherinsight.mirror.layout import MANIFEST, load_spec

CLI = Path(sys.executable).with_name("weatherinsight")


def _run(*args: str) -> tuple[int, str, str]:
    done = subprocess.run(
        [str(CLI), "mirror", *args], capture_output=True, text=True, timeout=120, check=False
    )
    return done.returncode, done.stdout, done.stderr


def _missing(path: Path) -> str:
    return (
        f"error: {path} is not a built mirror: no such directory — build one with "
        f"`weatherinsight mirror build {path}`\n"
    )


def _no_manifest(path: Path) -> str:
    return (
        f"error: {path} is not a built mirror: no {MANIFEST} in it — build one with "
        f"`weatherinsight mirror build {path}`\n"
    )


def _a_file(path: Path) -> str:
    return f"error: {path} is not a built mirror: it is a file — give the directory of a built mirror\n"


@pytest.mark.parametrize("command", [["status"], ["release", "--no-progress"], ["serve", "--port", "0"]])
def test_a_missing_empty_or_file_directory_is_one_typed_error(command: list[str], tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent"
    empty = tmp_path / "empty"
    empty.mkdir()
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a mirror\n", encoding="utf-8")
    for path, message in (
        (missing, _missing(missing)),
        (empty, _no_manifest(empty)),
        (a_file, _a_file(a_file)),
    ):
        verb, *options = command
        code, out, err = _run(verb, str(path), *options)
        assert (code, out, err) == (2, "", message), (command, path)
    assert not missing.exists()  # nothing was created on the way
    assert list(empty.iterdir()) == []


def test_build_refuses_a_file_and_a_directory_of_other_files(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a mirror\n", encoding="utf-8")
    code, out, err = _run("build", str(a_file), "--stations", "1", "--years", "1", "--no-progress")
    assert (code, out) == (2, "")
    assert (
        err
        == f"error: cannot write {a_file}: it is a file, not a directory — give a new or empty directory\n"
    )

    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine\n", encoding="utf-8")
    code, out, err = _run("build", str(other), "--stations", "1", "--years", "1", "--no-progress")
    assert (code, out) == (2, "")
    assert err == (
        f"error: cannot write {other}: it holds other files and no {MANIFEST} (it is not a built mirror) — "
        "give a new or empty directory, or a built mirror to rebuild\n"
    )
    assert sorted(p.name for p in other.iterdir()) == ["keep.txt"]


def test_status_of_a_built_mirror_still_prints_its_manifest(mirror_dir: Path) -> None:
    code, out, err = _run("status", str(mirror_dir))
    assert (code, err) == (0, "")
    assert json.loads(out) == json.loads(load_spec(mirror_dir).to_json())
