"""JSON answers where the model writes only the values.

A schema-constrained answer to a flat object spells out its keys and punctuation one decoded token at a time:
``{"topics": ["court dramas"], "scene": "comedy", "exclusions": ["musicals"]}`` is ~22 tokens of which ~13 are
structure the schema already fixes. Here the structure is evaluated with the prompt (one batch, the cost of about
one decoded token) and each value is decoded under its own grammar until it is a complete JSON value and the
separator after it, so only the values' tokens are generated one by one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Protocol

__all__ = ["Decoder", "FieldWriter", "flat_fields", "value_grammar"]

# Value types whose end shows in the text: a number could always take another digit, an object is not flat.
_ENDS_VISIBLY = frozenset({"string", "array", "boolean", "null"})


def flat_fields(schema: dict[str, Any] | None) -> list[tuple[str, dict[str, Any]]] | None:
    """The ``(key, value schema)`` pairs of an object schema whose keys are all required and whose values end
    visibly (strings, enums, arrays, booleans, null), in the schema's order; None for any other schema.

    Args:
        schema: a JSON schema, as given to a constrained completion.
    """
    if not schema or schema.get("type") != "object" or "$ref" in json.dumps(schema):
        return None
    props = schema.get("properties")
    if not isinstance(props, dict) or not props or list(schema.get("required", [])) != list(props):
        return None
    for sub in props.values():
        if not isinstance(sub, dict):
            return None
        kinds = sub.get("type", "string" if "enum" in sub else None)
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if "enum" in sub:
            if not all(v is None or isinstance(v, (str, bool)) for v in sub["enum"]):
                return None
        elif not kinds or any(k not in _ENDS_VISIBLY for k in kinds):
            return None
    return [(str(k), v) for k, v in props.items()]


def value_grammar(schema: dict[str, Any], end: str) -> str:
    """The GBNF of one JSON value of ``schema`` after an optional space and followed by ``end`` (``,`` or ``}``).

    The separator is part of the value's grammar because the model writes it merged with the value's last token
    (``"],`` is one token): a grammar that ended at ``]`` would forbid the token the model wants and it would go on
    writing the list instead.
    """
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    gbnf = json_schema_to_gbnf(json.dumps(schema))
    return gbnf.replace("root ::=", "value ::=", 1) + f'\nroot ::= " "? value {json.dumps(end)}\n'


class Decoder(Protocol):
    """Greedy steps under one grammar at a time (:class:`scenebridge.llm.greedy.LlamaDecoder` for llama.cpp)."""

    def tokenize(self, text: str) -> list[int]: ...

    def detokenize(self, token: int) -> bytes: ...

    def start(self, tokens: Sequence[int], gbnf: str) -> None: ...

    def pick(self) -> int: ...

    def feed(self, token: int) -> None: ...

    def close(self) -> None: ...


class FieldWriter:
    """Writes a flat object's answer: the structure is prompt, the values are decoded greedily under their grammars.

    The KV cache keeps the prompt and what was written, so each value after the first costs the batch of the key
    before it plus its own tokens.
    """

    def __init__(self, decoder: Decoder) -> None:
        self.decoder = decoder

    def write(self, prompt: Sequence[int], fields: Sequence[tuple[str, dict[str, Any]]], max_tokens: int) -> str:
        """The answer's JSON text; cut short (not valid JSON) when ``max_tokens`` decoded tokens did not suffice.

        Args:
            prompt: the chat prompt's tokens, up to and including the assistant turn's header.
            fields: :func:`flat_fields` of the schema.
            max_tokens: decoded tokens for all values together.
        """
        text, budget = "{", max_tokens
        try:
            for i, (key, schema) in enumerate(fields):
                text += ("" if i == 0 else " ") + json.dumps(key, ensure_ascii=False) + ":"
                # The whole answer so far tokenized afresh, so the context reads as a written-out answer would; the
                # KV cache keeps the common prefix and the rest is evaluated in one batch.
                tokens = [*prompt, *self.decoder.tokenize(text)]
                end = "," if i < len(fields) - 1 else "}"
                value, used, done = self._value(tokens, schema, end, budget)
                text, budget = text + value, budget - used
                if not done:
                    return text
        finally:
            self.decoder.close()
        return text

    def _value(self, tokens: list[int], schema: dict[str, Any], end: str, budget: int) -> tuple[str, int, bool]:
        """One value and the separator after it: (their text, tokens decoded, whether the value is complete)."""
        decoder = self.decoder
        decoder.start(tokens, _grammar(json.dumps(schema, sort_keys=True), end))
        options = [json.dumps(v, ensure_ascii=False) for v in schema.get("enum", [])]
        out, used = b"", 0
        while used < budget:
            token = decoder.pick()
            used += 1
            out += decoder.detokenize(token)
            if _complete(out, end):
                # Not evaluated: the next key's batch evaluates it.
                return out.decode("utf-8"), used, True
            rest = _only_completion(out, options)
            if rest is not None:
                # One option of the enum left: its remaining tokens are not decoded one by one either.
                return out.decode("utf-8") + rest + end, used, True
            decoder.feed(token)
        return out.decode("utf-8", errors="replace"), used, False


@lru_cache(maxsize=64)
def _grammar(schema: str, end: str) -> str:
    return value_grammar(json.loads(schema), end)


def _only_completion(out: bytes, options: Sequence[str]) -> str | None:
    """The rest of the one enum option that ``out`` begins (None when no or several options are left)."""
    try:
        text = out.decode("utf-8").lstrip()
    except UnicodeDecodeError:
        return None
    left = [o for o in options if o.startswith(text)]
    return left[0][len(text) :] if len(left) == 1 else None


def _complete(out: bytes, end: str) -> bool:
    """Whether ``out`` is a whole JSON value and then ``end`` (the grammar allows nothing after it)."""
    text = out.rstrip()
    if not text.endswith(end.encode()):
        return False
    try:
        json.loads(text[: -len(end)].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False
    return True
