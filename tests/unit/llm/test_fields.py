"""Answers where the model decodes only the values of a flat object (a byte-level fake model, no llama.cpp)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from scenebridge.llm.fields import FieldWriter, flat_fields

pytestmark = pytest.mark.unit

PHRASES = {"type": "array", "items": {"type": "string"}, "maxItems": 5}
SCHEMA = {
    "type": "object",
    "properties": {"topics": PHRASES, "scene": {"enum": ["art", "office", None]}, "exclusions": PHRASES},
    "required": ["topics", "scene", "exclusions"],
    "additionalProperties": False,
}


class ByteDecoder:
    """One token per byte; after a prompt that ends with a key, it picks the scripted value's bytes, and records
    what it was asked to evaluate."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.prompts: list[bytes] = []
        self.grammars: list[str] = []
        self.fed = 0
        self._next: list[int] = []

    def tokenize(self, text: str) -> list[int]:
        return list(text.encode())

    def detokenize(self, token: int) -> bytes:
        return bytes([token])

    def start(self, tokens: Sequence[int], gbnf: str) -> None:
        prompt = bytes(tokens)
        self.prompts.append(prompt)
        self.grammars.append(gbnf)
        self._next = list(self.values[prompt.rsplit(b'"', 2)[-2].decode()].encode())

    def pick(self) -> int:
        return self._next.pop(0)

    def feed(self, token: int) -> None:
        self.fed += 1

    def close(self) -> None:
        pass


def test_only_flat_objects_with_required_keys_that_end_visibly_are_written_by_fields():
    assert [k for k, _ in flat_fields(SCHEMA) or []] == ["topics", "scene", "exclusions"]
    assert flat_fields(None) is None
    assert flat_fields({"type": "array", "items": PHRASES}) is None
    assert flat_fields({**SCHEMA, "required": ["topics"]}) is None  # an optional key: the model decides
    number = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    assert flat_fields(number) is None  # 12 could always become 123
    nested = {"type": "object", "properties": {"o": {"type": "object"}}, "required": ["o"]}
    assert flat_fields(nested) is None
    flags = {"type": "object", "properties": {"b": {"type": "boolean"}}, "required": ["b"]}
    assert flat_fields(flags) == [("b", {"type": "boolean"})]


def test_the_keys_are_prompt_and_the_values_are_decoded_up_to_their_end():
    model = ByteDecoder({"topics": ' ["court dramas", "法庭"],', "scene": ' "office",', "exclusions": " []}"})
    text = FieldWriter(model).write(list(b"<prompt>"), flat_fields(SCHEMA) or [], max_tokens=100)
    assert json.loads(text) == {"topics": ["court dramas", "法庭"], "scene": "office", "exclusions": []}
    assert model.prompts[0] == b'<prompt>{"topics":'
    assert model.prompts[1] == b'<prompt>{"topics": ["court dramas", "\xe6\xb3\x95\xe5\xba\xad"], "scene":'
    # Each value ends with the separator the model writes after it; its last token is left to the next batch: it is
    # never decoded on its own, nor is an end token.
    # (The scene stops early: see the enum test below.)
    assert model.fed == sum(len(model.values[k].encode()) - 1 for k in ("topics", "exclusions")) + 2
    # Each value's grammar ends with the separator that follows it.
    assert [g.rstrip().rsplit(" ", 1)[-1] for g in model.grammars] == ['","', '","', '"}"']


def test_a_comma_inside_a_value_does_not_end_it():
    model = ByteDecoder({"topics": ' ["pens, pencils", "ink,"],', "scene": ' "art",', "exclusions": ' ["x"]}'})
    text = FieldWriter(model).write([], flat_fields(SCHEMA) or [], max_tokens=100)
    assert json.loads(text)["topics"] == ["pens, pencils", "ink,"]


def test_a_value_cut_by_the_token_budget_leaves_an_answer_that_does_not_parse():
    model = ByteDecoder({"topics": ' ["a very long topic"],', "scene": " null,", "exclusions": " []}"})
    text = FieldWriter(model).write([], flat_fields(SCHEMA) or [], max_tokens=8)
    assert text == '{"topics": ["a ver'  # 8 bytes of the value
    with pytest.raises(json.JSONDecodeError, match="Unterminated string"):
        json.loads(text)


def test_once_one_option_of_an_enum_is_left_its_rest_is_written_without_decoding():
    model = ByteDecoder({"topics": " [],", "scene": ' "office",', "exclusions": " []}"})
    text = FieldWriter(model).write([], flat_fields(SCHEMA) or [], max_tokens=100)
    assert json.loads(text)["scene"] == "office"
    # ' "o' leaves only "office" of art, office and null: two bytes decoded, one fed, the rest written.
    assert model.fed == (len(" [],") - 1) + 2 + (len(" []}") - 1)
