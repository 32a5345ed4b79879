"""Privacy: what reaches a hosted LLM is redacted (``llm/redact.py``), on every face that builds its LLM."""

from __future__ import annotations

import json

import pytest

from scenebridge.agent.turn import Recommender
from scenebridge.llm import ScriptedLLM
from scenebridge.llm.openai_compat import OpenAICompatLLM
from scenebridge.llm.redact import RedactingLLM, redact, with_redaction
from tests.unit.hardening_fixtures import check_answer, hardening_store
from tests.unit.turn_fixtures import summary_json

pytestmark = pytest.mark.unit

PERSONAL = ("I'm jane.doe@example.com, call +1 (415) 555-0132 or 13812345678, 身份证110101199003071234, "
            "order id: AB-99231, card 4111 1111 1111 1111; I want gel pens 24 colors for the office")  # fmt: skip
# The client is built, never called: no socket is opened.
HOSTED_URL = "http://127.0.0.1:9/v1"


def test_redact_replaces_emails_phones_and_ids_and_keeps_the_request():
    clean, counts = redact(PERSONAL)
    for secret in ("jane.doe", "555-0132", "13812345678", "110101199003071234", "AB-99231", "4111"):
        assert secret not in clean
    assert counts == {"email": 1, "phone": 2, "id": 3}
    assert "gel pens 24 colors for the office" in clean


def test_redact_leaves_product_numbers_alone():
    assert redact("hp 61 ink, 8 5 x 11 paper, item o23690, 2024 model")[1] == {}


def test_with_redaction_wraps_hosted_models_once_and_off_unwraps():
    hosted = OpenAICompatLLM(HOSTED_URL)
    assert isinstance(with_redaction(hosted, "hosted"), RedactingLLM)
    local = ScriptedLLM()
    assert with_redaction(local, "hosted") is local
    assert with_redaction(hosted, "off") is hosted
    once = with_redaction(hosted, "all")
    assert with_redaction(once, "all") is once  # idempotent
    assert with_redaction(once, "off") is hosted  # and "off" unwraps


def test_every_face_gets_redaction_by_default():
    from scenebridge.build import build_llm
    from scenebridge.settings import LLMSettings

    assert isinstance(build_llm(settings=LLMSettings(spec=HOSTED_URL)), RedactingLLM)


def test_the_redacting_llm_leaves_our_system_prompt_alone():
    fake = ScriptedLLM([summary_json(["gel pens"], "office")])
    wrapped = RedactingLLM(fake)
    wrapped.complete([{"role": "system", "content": "sys a@b.co"}, {"role": "user", "content": PERSONAL}])
    sent = fake.calls[0]["messages"]
    assert sent[0]["content"] == "sys a@b.co"  # our own system prompt is not touched
    assert "jane.doe" not in sent[1]["content"]
    assert "[EMAIL]" in sent[1]["content"]
    assert wrapped.redacted["email"] == 1


def test_redacting_llm_in_a_turn(tmp_path):
    fake = ScriptedLLM([summary_json(["gel pens"], "office")])
    rec = Recommender(hardening_store(tmp_path / "store"), llm=RedactingLLM(fake))
    result = rec.turn("mail me at a.b@corp.com or 415-555-0132: gel pens for the office")
    assert result.parse_source == "llm"
    sent = json.dumps(fake.calls[0]["messages"])
    assert "a.b@corp.com" not in sent
    assert "555-0132" not in sent
    assert result.items
    check_answer(result)
