"""Privacy: redacting emails, phone numbers and ids before text reaches a hosted LLM.

``[privacy] redact`` (``SCENEBRIDGE_PRIVACY_REDACT``): ``hosted`` (default: only OpenAI-compatible servers, which may
be another company's), ``all`` (local models too) or ``off``. The recommender still sees the full statement: the
lexical parser, exclusions and retrieval run locally.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from scenebridge.llm.openai_compat import OpenAICompatLLM
from scenebridge.settings import PrivacySettings, RedactMode

if TYPE_CHECKING:
    from scenebridge.llm.protocol import LLM, Message

__all__ = ["RedactingLLM", "is_hosted", "redact", "with_redaction"]

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")),
    ("url", re.compile(r"\bhttps?://\S+", re.IGNORECASE)),
    # Chinese resident id (17 digits + digit/X), card numbers and other long digit runs, with spaces or dashes.
    (
        "id",
        re.compile(
            r"(?<![A-Za-z0-9_+])\d{17}[\dXx](?![A-Za-z0-9_])"
            r"|(?<![A-Za-z0-9_+])\d(?:[ -]?\d){12,18}(?![A-Za-z0-9_])"
        ),
    ),
    (
        "phone",
        re.compile(
            r"(?<![A-Za-z0-9_+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?"
            r"\d{2,4}(?:[\s.-]?\d{2,4}){2,4}(?![A-Za-z0-9_])"
        ),
    ),
    (
        "id",
        re.compile(r"(?<!\w)(?:id|user|account|order|订单|账号|身份证)[\s:#号为是：]*[A-Za-z0-9-]{4,}", re.IGNORECASE),
    ),
)
_MIN_DIGITS = {"phone": 7, "id": 6}


def redact(text: str) -> tuple[str, Counter[str]]:
    """Replaces emails, URLs, ids and phone numbers with ``[EMAIL]``, ``[URL]``, ``[ID]``, ``[PHONE]``.

    Returns the redacted text and how many of each kind were replaced.
    """
    counts: Counter[str] = Counter()
    for kind, pattern in _PATTERNS:

        def sub(m: re.Match[str], kind: str = kind) -> str:
            digits = sum(c.isdigit() for c in m.group(0))
            if digits < _MIN_DIGITS.get(kind, 0) and not (kind == "id" and not m.group(0)[0].isdigit()):
                return m.group(0)
            counts[kind] += 1
            return f"[{kind.upper()}]"

        text = pattern.sub(sub, text)
    return text, counts


class RedactingLLM:
    """Wraps an LLM: user and assistant messages are redacted before they are sent (the system prompt is ours).

    Attributes:
        redacted: how many of each kind were replaced so far.
    """

    def __init__(self, inner: LLM) -> None:
        self.inner = inner
        self.name = inner.name
        self.redacted: Counter[str] = Counter()

    def complete(self, messages: list[Message], schema: dict[str, Any] | None = None, max_tokens: int = 512) -> str:
        clean: list[Message] = []
        for m in messages:
            if m["role"] == "system":
                clean.append(m)
                continue
            text, counts = redact(m["content"])
            self.redacted.update(counts)
            clean.append({"role": m["role"], "content": text})
        return self.inner.complete(clean, schema=schema, max_tokens=max_tokens)


def is_hosted(llm: Any) -> bool:
    """True for an LLM reached over HTTP (an OpenAI-compatible server)."""

    return isinstance(getattr(llm, "inner", llm), OpenAICompatLLM)


def with_redaction(llm: LLM | None, mode: RedactMode | None = None) -> LLM | None:
    """``llm`` behind a :class:`RedactingLLM` when ``mode`` (default: the settings) asks for it."""
    if llm is None:
        return None
    bare = llm.inner if isinstance(llm, RedactingLLM) else llm  # idempotent, and "off" unwraps
    chosen = mode or PrivacySettings().redact
    if chosen == "all" or (chosen == "hosted" and is_hosted(bare)):
        return llm if isinstance(llm, RedactingLLM) else RedactingLLM(bare)
    return bare
