"""Speculative decoding with a draft model (real 0.5B as both target and draft).

With the target as its own draft the guesses are the target's greedy tokens without the grammar, so most are kept.
The picks are the target's, but from rows of a batch, whose logits differ from a one-token evaluation's by up to
~0.3 here (llama.cpp's batched kernels): a near-tie may go the other way, so the answer is checked for being a valid
answer of the schema that depends on the prompt alone, not for being the plain one (on the labelled set the 1.5B
with the 0.5B as draft wrote the plain answer for 31 of 32 statements: docs/contention.md).
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from scenebridge.agent.parse import wire_schema
from scenebridge.llm.llama_cpp import LlamaCppLLM
from tests.integration.test_parse_real import SCENES, require_model

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def models() -> tuple[LlamaCppLLM, LlamaCppLLM]:
    path = require_model()
    plain = LlamaCppLLM(path, n_ctx=1024, prefix_cache=False, preload=False)
    drafted = LlamaCppLLM(path, n_ctx=1024, prefix_cache=False, preload=False, draft=path, draft_k=3)
    return plain, drafted


@pytest.mark.parametrize(
    "text",
    [
        "I bought watercolor paints on my PC; now I'd like office supplies, but no printer ink.",
        "我在电脑上买了素描本，现在想看看厨房用具，不要刀具",
    ],
)
def test_the_drafted_answer_is_a_valid_answer_of_the_prompt_alone(models, text):
    plain, drafted = models
    messages = [{"role": "system", "content": "Answer with JSON only."}, {"role": "user", "content": text}]
    schema = wire_schema(SCENES)
    plain_answer = json.loads(plain.complete(messages, schema=schema))
    before = dataclasses.replace(drafted.draft_stats)
    first = drafted.complete(messages, schema=schema)
    answer = json.loads(first)
    assert list(answer) == list(plain_answer) == list(schema["properties"])
    assert answer["scene"] in SCENES
    stats = drafted.draft_stats
    kept, guessed = stats.accepted - before.accepted, stats.drafted - before.drafted
    assert 0 < kept <= guessed
    assert kept / guessed > 0.5  # its own guesses: most hold
    # What a drafted answer left in the context (refused guesses) does not reach the next one.
    drafted.complete([messages[0], {"role": "user", "content": "no"}], schema=schema)
    assert drafted.complete(messages, schema=schema) == first


def test_a_missing_draft_model_is_one_clear_error(tmp_path):
    from scenebridge.errors import UsageError

    with pytest.raises(UsageError, match=r"draft model .* not found"):
        LlamaCppLLM(require_model(), preload=False, draft=tmp_path / "none.gguf")
