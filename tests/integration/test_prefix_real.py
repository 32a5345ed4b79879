"""A second process restores the evaluated parse prefix from the cache folder and parses as the first one did.

The small packaged model (Qwen2.5-Coder-0.5B) through the in-process llama.cpp backend; as in the other real-model
tests, a missing model fails in CI (``CI=true``) and skips elsewhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_parse_real import SCENES, require_model

pytestmark = pytest.mark.integration

_PARSE = """
import json, sys
from scenebridge.agent import parse_interests
from scenebridge.llm.llama_cpp import LlamaCppLLM

llm = LlamaCppLLM(sys.argv[1], n_ctx=1024, n_threads=1)
res = parse_interests(sys.argv[2], llm, scenes=sys.argv[3].split(","))
print(json.dumps({"prefix": llm.prefix.last, "source": res.source, "summary": res.summary.model_dump()}))
"""


def _parse_in_a_fresh_process(model: Path, text: str, cache: Path) -> dict[str, object]:
    env = {**os.environ, "SCENEBRIDGE_CACHE": str(cache)}
    out = subprocess.run(
        [sys.executable, "-c", _PARSE, str(model), text, ",".join(SCENES)],
        env=env, capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_second_process_restores_the_prefix_and_parses_the_same(tmp_path):
    model = require_model()
    text = "I bought watercolor paints on my PC; now I'd like office supplies, but no printer ink cartridges."
    cold = _parse_in_a_fresh_process(model, text, tmp_path)
    assert cold["prefix"] == "evaluated"
    files = list((tmp_path / "llama-prefix").glob("*.npz"))
    assert len(files) == 1
    warm = _parse_in_a_fresh_process(model, text, tmp_path)
    assert warm["prefix"] == "disk"  # read back, not evaluated again
    assert warm["source"] == cold["source"] == "llm"
    assert warm["summary"] == cold["summary"]
