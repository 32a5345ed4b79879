"""The values-only writer with the per-token grammar check against llama-cpp-python's own sampler (real 0.5B model).

Both are greedy under the same grammars, so they must write the same answer; the writer decodes fewer tokens.
"""

from __future__ import annotations

import json

import pytest

from scenebridge.agent.delta import delta_schema
from scenebridge.agent.parse import wire_schema
from scenebridge.llm.fields import FieldWriter, flat_fields, value_grammar
from scenebridge.llm.greedy import LlamaDecoder
from scenebridge.llm.llama_cpp import LlamaCppLLM
from tests.integration.test_parse_real import SCENES, require_model

pytestmark = pytest.mark.integration


class SamplerDecoder(LlamaDecoder):
    """The same steps through llama-cpp-python's ``generate`` (its grammar over the whole vocabulary each step)."""

    def start(self, tokens, gbnf):
        from llama_cpp import LlamaGrammar

        self._gen = self.llm.generate(list(tokens), temp=0.0, repeat_penalty=self.repeat_penalty,
                                      grammar=LlamaGrammar.from_string(gbnf, verbose=False))  # fmt: skip

    def pick(self):
        return next(self._gen)

    def feed(self, token):
        pass  # the generator evaluates it when asked for the next one

    def close(self):
        gen = getattr(self, "_gen", None)
        if gen is not None:
            gen.close()


@pytest.fixture(scope="module")
def backend() -> LlamaCppLLM:
    return LlamaCppLLM(require_model(), n_ctx=1024, prefix_cache=False, preload=False)


@pytest.mark.parametrize(
    ("text", "schema"),
    [
        ("I bought watercolor paints on my PC; now I'd like office supplies, but no printer ink.", wire_schema(SCENES)),
        ("我在电脑上买了素描本，现在想看看厨房用具，不要刀具", wire_schema(SCENES)),
        ("Something newer, and no sequels", delta_schema()),
    ],
)
def test_the_writer_answers_as_the_sampler_does(backend, text, schema):
    llm = backend.llm
    messages = [{"role": "system", "content": "Answer with JSON only."}, {"role": "user", "content": text}]
    prompt = backend._tokens(messages)
    fields = flat_fields(schema)
    assert fields is not None
    # Each from an empty cache: evaluated in other batches, the logits differ in the last bits and a near tie (`"],`
    # against `"]` then ` ,`) can fall the other way.
    llm.reset()
    ours = FieldWriter(LlamaDecoder(llm)).write(prompt, fields, max_tokens=120)
    llm.reset()
    theirs = FieldWriter(SamplerDecoder(llm)).write(prompt, fields, max_tokens=120)
    assert ours == theirs
    assert set(json.loads(ours)) == set(schema["properties"])


def test_a_value_grammar_is_one_llama_cpp_accepts(backend):
    from llama_cpp import llama_cpp as low

    for schema in (wire_schema(SCENES)["properties"]["topics"], {"enum": ["art", None]}, {"type": "boolean"}):
        sampler = low.llama_sampler_init_grammar(backend.llm._model.vocab, value_grammar(schema, ",").encode(), b"root")
        assert sampler
        low.llama_sampler_free(sampler)
