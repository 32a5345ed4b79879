"""`bench parse --variant` and `--scenes`: the decodings a local model is compared in, and their bad values."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scenebridge.bench.parse import bench_parse, parse_variant
from scenebridge.errors import UsageError

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "options"),
    [
        ("plain", {}),
        ("", {}),
        ("lookup=10", {"lookup": 10}),
        ("draft=qwen2.5-coder-0.5b, draft_k=2", {"draft": "qwen2.5-coder-0.5b", "draft_k": 2}),
        ("fields=false", {"fields": False}),
    ],
)
def test_a_variant_reads_as_the_model_options(text, options):
    assert parse_variant(text) == options


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("beam=4", "KEY one of lookup, draft"),
        ("lookup", "KEY=VALUE"),
        ("lookup=-1", "whole number"),
        ("draft_k=two", "whole number"),
        ("fields=maybe", "true or false"),
    ],
)
def test_a_bad_variant_says_what_is_allowed(text, says):
    with pytest.raises(UsageError, match=says):
        parse_variant(text)


def test_scenes_without_statements_is_an_error_before_any_model_loads(tmp_path):
    labels = tmp_path / "labels.yaml"
    labels.write_text(
        "scenes: [art, office]\nstatements:\n  - {text: pens please, scene: office, intent: discover, topics: [pens]}\n"
    )
    with pytest.raises(UsageError, match=r"no statement of .* is in the scenes kitchen; its scenes: art, office"):
        bench_parse(labels, ["none"], scenes=["kitchen"])


def test_the_cli_refuses_a_bad_variant_in_one_line():
    proc = subprocess.run(
        [sys.executable, "-m", "scenebridge.cli", "bench", "parse", "--llm", "none", "--variant", "beam=4",
         "--labels", str(Path("benchmarks/parse_labels.yaml"))],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "--variant 'beam=4'" in proc.stderr + proc.stdout
