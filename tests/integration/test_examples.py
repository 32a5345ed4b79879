"""The three practice cases' scripted conversations (examples/<case>/conversation*.yaml) through `scenebridge script
run` with the fake LLM and with the real 0.5B model: real multilingual USE vectors over the small catalogues shipped
beside each script, the prerequisite gate for the Junyi exercises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CASES = ("ecommerce-cross-device", "online-education", "social-travel")
SCRIPTS = sorted(p for case in CASES for p in (ROOT / "examples" / case).glob("conversation*.yaml"))

pytestmark = pytest.mark.integration


def test_every_case_has_a_runnable_command_and_a_readme():
    for case in CASES:
        folder = ROOT / "examples" / case
        assert (folder / "run.sh").stat().st_mode & 0o111, f"{case}/run.sh is not executable"
        assert (folder / "README.md").is_file(), f"{case} has no README"


def test_every_case_conversation_passes_with_the_fake_llm():
    assert {p.parent.name for p in SCRIPTS} == set(CASES)
    proc = subprocess.run([sys.executable, "-m", "scenebridge.cli", "script", "run", *map(str, SCRIPTS)],
                          capture_output=True, text=True, check=False, cwd=ROOT)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(SCRIPTS)}/{len(SCRIPTS)} scripts passed" in proc.stdout


def test_the_junyi_script_fails_without_the_prerequisite_gate(tmp_path):
    """The script's exclusions are the rule: the same conversation ranked without the gate breaks it."""
    from scenebridge.script import run_script

    script = ROOT / "examples" / "online-education" / "conversation-junyi.yaml"
    text = script.read_text(encoding="utf-8")
    text = text.replace("catalogue: junyi-geometry", f"catalogue: {script.parent / 'junyi-geometry'}")
    text = text.replace("prerequisites: junyi-geometry", f"prerequisites: {script.parent / 'junyi-geometry'}")
    ungated = tmp_path / "ungated.yaml"
    ungated.write_text("\n".join(x for x in text.splitlines() if not x.startswith("reranker:")), encoding="utf-8")
    report = run_script(ungated)
    assert not report.ok
    assert any(f.check.startswith("exclude") and f.turn == 1 for f in report.failures), report.format()
    assert any(f.check == "prerequisites_done" and f.turn == 1 for f in report.failures), report.format()


def test_every_case_conversation_passes_with_the_real_small_model():
    """The same scripts with the 0.5B model reading every statement (one model load for all of them)."""
    from scenebridge.llm.models import model_path

    if not model_path("qwen2.5-coder-0.5b").is_file() or not _has_llama():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the real model: `make llama models-small`")
        pytest.skip("llama-cpp-python or qwen2.5-coder-0.5b is not installed")
    from scenebridge.script import run_scripts

    reports = run_scripts(SCRIPTS, llm="qwen2.5-coder-0.5b")
    failed = [r for r in reports if not r.ok]
    assert not failed, "\n\n".join(r.format() + "\n" + "\n".join(r.transcript) for r in failed)


def _has_llama() -> bool:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return True
