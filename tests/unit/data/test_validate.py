"""Bad dataset files: one clear line per problem, exit code 2, no traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scenebridge.data.format import load_dataset
from scenebridge.data.validate import validate_dataset
from scenebridge.errors import DatasetError

pytestmark = pytest.mark.unit


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "scenebridge.cli", *args], capture_output=True, text=True, env=env, check=False
    )


def rewrite(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new, 1))


def test_clean_dataset_validates(tiny_dataset):
    errors = [p for p in validate_dataset(tiny_dataset) if p.severity == "error"]
    assert errors == []
    proc = run_cli("data", "validate", str(tiny_dataset))
    assert proc.returncode == 0, proc.stderr
    assert "ok" in proc.stdout


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (
            lambda d: rewrite(d / "items.csv", "item_id,scene,title,category", "item_id,scene,category"),
            "items.csv:1: error: missing column(s) 'title'",
        ),
        (
            lambda d: rewrite(d / "interactions.csv", "u0,a", "u0,zz"),
            "interactions.csv:2: error: unknown item_id 'zz",
        ),
        (
            lambda d: rewrite(d / "interactions.csv", ",a,0", ",a,first"),
            "interactions.csv:2: error: position 'first' is not a non-negative integer",
        ),
        (
            lambda d: rewrite(d / "users.csv", "u0,test", "u0,testing"),
            "users.csv:2: error: split 'testing' is not one of",
        ),
        (lambda d: (d / "items.csv").write_text(""), "items.csv: error: the file is empty"),
        (
            lambda d: (d / "interactions.csv").write_text("user_id,item_id,scene,position\n"),
            "interactions.csv: error: the file has a header but no rows",
        ),
        (
            lambda d: (d / "items.csv").write_bytes((d / "items.csv").read_bytes().replace(b"item 3", b"item \xff3")),
            "items.csv:5: error: not valid UTF-8 (byte 0xff)",
        ),
        (lambda d: (d / "interactions.csv").unlink(), "interactions.csv: error: missing from"),
        (
            lambda d: rewrite(d / "items.csv", "a1,a,", "a0,a,dupe,x\na1,a,"),
            "items.csv:3: error: duplicate item_id 'a0' (first on line 2)",
        ),
        (
            lambda d: rewrite(d / "interactions.csv", "u0,a", "u0,b"),
            "interactions.csv:2: error: scene 'a' differs",
        ),
        (
            lambda d: rewrite(d / "items.csv", "a1,a,", "a1,a,x,y,"),
            "items.csv:3: error: expected 4 fields, found 6",
        ),
    ],
    ids=[
        "missing-column",
        "unknown-id",
        "wrong-type",
        "bad-split",
        "empty-file",
        "no-rows",
        "non-utf8",
        "missing-file",
        "duplicate-id",
        "scene-mismatch",
        "field-count",
    ],
)
def test_bad_files_one_line_exit_2_no_traceback(tiny_dataset, breakage, expected):
    breakage(tiny_dataset)
    with pytest.raises(DatasetError):
        load_dataset(tiny_dataset)
    for args in (
        ["data", "validate", str(tiny_dataset)],
        ["evaluate", str(tiny_dataset), "-s", "a", "-t", "b", "-o", str(tiny_dataset / "out")],
    ):
        proc = run_cli(*args)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
        assert any(expected in line for line in proc.stderr.splitlines()), proc.stderr
        assert len(proc.stderr.splitlines()) <= 3, proc.stderr


def test_empty_title_and_repeats_are_warnings(tiny_dataset):
    rewrite(tiny_dataset / "items.csv", "a1,a,fountain pen item 1", "a1,a,")
    path = tiny_dataset / "interactions.csv"
    user, item, scene, _ = path.read_text().splitlines()[1].split(",")
    with path.open("a") as fh:
        fh.write(f"{user},{item},{scene},9\n")
    problems = validate_dataset(tiny_dataset)
    text = [str(p) for p in problems]
    assert any("items.csv:3: warning: empty title for item 'a1'" in t for t in text)
    assert any(f"warning: repeated interaction of {user!r} with {item!r} (first on line 2)" in t for t in text)
    assert run_cli("data", "validate", str(tiny_dataset)).returncode == 0


def test_many_problems_of_one_kind_are_summarised(tiny_dataset):
    path = tiny_dataset / "interactions.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0]] + [ln.replace(",a,", ",a,") + "x" for ln in lines[1:]]) + "\n")
    problems = [str(p) for p in validate_dataset(tiny_dataset)]
    assert len(problems) == 6
    assert problems[-1].endswith("more like that (bad order)")


def test_not_a_folder(tmp_path):
    proc = run_cli("data", "validate", str(tmp_path / "nope"))
    assert proc.returncode == 2
    assert "not a folder" in proc.stderr


def test_unknown_method_and_scene_are_clear(tiny_dataset, tmp_path):
    proc = run_cli("evaluate", str(tiny_dataset), "-s", "a", "-t", "b", "-o", str(tmp_path), "--methods", "magic")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: unknown method 'magic'; choose from: popularity, itemknn, tfidf, als, seed-dot, hybrid, stack"
    )
    proc = run_cli("evaluate", str(tiny_dataset), "-s", "a", "-t", "c", "-o", str(tmp_path))
    assert proc.returncode == 2
    assert "unknown target scene 'c'; the dataset's scenes are: a, b" in proc.stderr
