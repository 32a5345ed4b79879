"""Exclusions: glossary rules, and the semantic fallback for phrases the glossary lacks (fake vectors)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from scenebridge.agent.exclusions import ExclusionFilter, SemanticGlossary

pytestmark = pytest.mark.unit

# Fake multilingual vectors: each known text points along its meaning's axis.
_AXES = {"animation": 0, "动画片": 0, "horror": 1, "恐怖片": 1, "drama": 2, "children": 3, "crime": 4}


class AxisEmbedder:
    model_id = "fake-axes"
    dim = 6

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts):
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for n, text in enumerate(texts):
            out[n, _AXES.get(text, 5)] = 1.0
        return out


CATEGORIES = Counter({"animation children": 3, "horror": 4, "crime drama": 5, "dramas": 1, "noir": 1})


def test_the_glossary_reads_chinese_without_the_fallback():
    excl = ExclusionFilter.build(["打印机墨盒"])
    assert excl.match("HP 61 Black Ink Cartridge") == "打印机墨盒"
    assert excl.match("Copy paper, 500 sheets") is None
    assert excl.unmatched == []


def test_a_phrase_the_glossary_lacks_is_read_as_the_nearest_category_word():
    emb = AxisEmbedder()
    reader = SemanticGlossary(emb, lambda scene: CATEGORIES)
    assert reader.vocabulary("movies")[0] == ["animation", "children", "crime", "drama", "horror"]
    excl = ExclusionFilter.build(["动画片", "恐怖片", "纪录片"], reader.resolver("movies"))
    assert excl.resolved == {"动画片": "animation", "恐怖片": "horror"}
    assert excl.unmatched == ["纪录片"]  # nearest to nothing: left alone and reported, never guessed
    assert excl.match("Toy Story", "Animation Children") == "动画片"
    assert excl.match("Se7en", "Crime Drama") is None
    vocab_calls = len(emb.calls)
    ExclusionFilter.build(["动画片"], reader.resolver("movies"))
    assert len(emb.calls) == vocab_calls + 1  # the vocabulary is embedded once per scene


def test_an_unclear_nearest_word_is_not_used():
    emb = AxisEmbedder()
    # "horror" at 0.72 and "crime" at 0.69 from the phrase: close enough to be confident, but no clear winner
    emb.embed = lambda texts: (
        np.array([[0.72, 0.69, 0.0]], dtype=np.float32)
        if texts == ["惊悚片"]
        else np.array([[1.0, 0, 0] if t == "horror" else [0, 1.0, 0] if t == "crime" else [0, 0, 1] for t in texts])
    )
    reader = SemanticGlossary(emb, lambda scene: Counter({"horror": 3, "crime": 3}))
    assert reader.read("惊悚片", "movies") is None
