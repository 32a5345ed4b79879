"""The shipped example scripts: all of them with the fake LLM through `scenebridge script run` (real multilingual
USE vectors over a 437-item slice of the Amazon Art/Office catalogue), and the Chinese one with the real 0.5B model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((ROOT / "examples" / "scripts").glob("*.yaml"))

pytestmark = pytest.mark.integration


def test_every_example_script_passes_with_the_fake_llm():
    assert len(SCRIPTS) >= 3
    proc = subprocess.run([sys.executable, "-m", "scenebridge.cli", "script", "run", *map(str, SCRIPTS)],
                          capture_output=True, text=True, check=False, cwd=ROOT)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(SCRIPTS)}/{len(SCRIPTS)} scripts passed" in proc.stdout


def test_the_chinese_script_passes_with_the_real_small_model():
    from scenebridge.llm.models import model_path

    if not model_path("qwen2.5-coder-0.5b").is_file() or not _has_llama():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the real model: `make llama models-small`")
        pytest.skip("llama-cpp-python or qwen2.5-coder-0.5b is not installed")
    from scenebridge.script import run_script

    report = run_script(ROOT / "examples" / "scripts" / "art_to_office_zh.yaml", llm="qwen2.5-coder-0.5b")
    assert report.ok, report.format() + "\n" + "\n".join(report.transcript)
    assert report.llm == "qwen2.5-coder-0.5b"


def _has_llama() -> bool:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return True
