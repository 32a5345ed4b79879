"""A follow-up's own wish leads the state and the interest vector; earlier wishes stay second."""

from __future__ import annotations

import numpy as np
import pytest

from scenebridge.agent.delta import EARLIER_WEIGHT, apply_delta, lexical_delta
from scenebridge.agent.session import Session
from scenebridge.agent.stages.read import EARLIER_SHARE, interest
from scenebridge.agent.summary import InterestSummary, Mention, Topic

pytestmark = pytest.mark.unit

SCENES = ["art", "office"]


def _opening() -> InterestSummary:
    return InterestSummary(
        topics=[Topic(name="stamp", weight=1.0), Topic(name="watercolor", weight=0.9)],
        mentioned=[Mention(text="cling rubber stamp", action="bought", scene="art")],
        scene="office",
    )


def test_a_new_wish_leads_and_words_of_what_was_done_leave_the_topics():
    prev = _opening()
    after = apply_delta(prev, lexical_delta("printer labels please", prev, SCENES, None), [])
    names = [t.name for t in after.topics]
    assert names[0] == "printer"
    assert "stamp" not in names  # a word of the mention: history, not a wish
    old = next(t for t in after.topics if t.name == "watercolor")
    assert old.weight == pytest.approx(0.9 * EARLIER_WEIGHT)
    assert all(t.weight > old.weight for t in after.topics if t.name != "watercolor")


def test_a_follow_up_that_only_excludes_keeps_the_wishes_strong():
    prev = _opening()
    after = apply_delta(prev, lexical_delta("no pens", prev, SCENES, None), [])
    assert {t.name: t.weight for t in after.topics} == {"stamp": 0.9, "watercolor": 0.81}


def test_a_wish_said_again_is_not_demoted():
    prev = _opening()
    after = apply_delta(prev, lexical_delta("watercolor labels", prev, SCENES, None), [])
    assert {t.name: t.weight for t in after.topics}["watercolor"] >= 0.9


class _Embedder:
    """One unit vector per distinct text (the same text, the same vector)."""

    def __init__(self) -> None:
        self.seen: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        for t in texts:
            if t not in self.seen:
                v = np.zeros(16, dtype=np.float32)
                v[len(self.seen)] = 1.0
                self.seen[t] = v
        return np.stack([self.seen[t] for t in texts])


def test_the_interest_vector_of_a_follow_up_is_led_by_its_own_wish():
    summary = InterestSummary(topics=[Topic(name="labels", weight=1.0), Topic(name="watercolor", weight=0.45)])
    sess = Session(session_id="s")
    emb = _Embedder()
    first = interest(summary, sess, "office", emb, None)  # type: ignore[arg-type]
    assert first.names == ["labels", "watercolor"]
    sess.turns = 1
    follow = interest(summary, sess, "office", emb, None)  # type: ignore[arg-type]
    lead, old = emb.seen["labels"], emb.seen["watercolor"]
    expected = (lead + EARLIER_SHARE * old) / np.linalg.norm(lead + EARLIER_SHARE * old)
    assert np.allclose(follow.vector, expected)
    assert follow.names == ["labels", "watercolor"]
