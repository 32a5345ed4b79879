"""The one place the agent's words are rendered: evidence phrases, explanation templates, the reply, notes and
refinements, in English and Chinese, from ``prompts/wording.yaml``.

Rerankers give evidence as data (:class:`~scenebridge.rerank.api.Evidence`); this module turns it into phrases, with
the titles of the items it refers to looked up by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache, lru_cache
from typing import Any

from scenebridge.agent.lexical import default_scene_hints
from scenebridge.prompts import load_wording
from scenebridge.rerank.api import Evidence

__all__ = ["change", "evidence_phrase", "explanation", "note", "reply", "with_text", "zh_scene"]

_NEEDS_TITLE = ("history-content", "co-occurrence", "anchor")


@cache
def zh_scene(scene: str) -> str:
    """A scene's Chinese name from the built-in scene hints ("office" -> "办公用品"), else the name itself."""
    cjk = [w for w in default_scene_hints().get(scene, ()) if re.search(r"[\u4e00-\u9fff]", w)]
    return next((w for w in cjk if w.endswith("用品")), cjk[0] if cjk else scene)


def _lang(language: str) -> str:
    return "zh" if language == "zh" else "en"


def evidence_phrase(ev: Evidence, titles: Mapping[str, str], item_scene: str, language: str = "en") -> str:
    """One reason in words.

    Args:
        ev: the reason.
        titles: titles of the items evidence refers to (id -> title); an id without one is named by its id.
        item_scene: the scene of the item explained (a popularity reason without a scene is about it).
        language: ``en`` or ``zh`` (scenes by their Chinese names).
    """
    lang = _lang(language)
    ref = ev.item_id or ""
    title = titles.get(ref) or ref
    return _phrase(lang, "anchor" if ev.anchor else ev.kind, ev.measure, ev.interest or "", title, ev.people,
                   ev.scene or item_scene)  # fmt: skip


@lru_cache(maxsize=4096)
def _phrase(lang: str, key: str, measure: str, interest: str, title: str, people: int | None, scene: str) -> str:
    """One phrase, remembered: a turn words the same few reasons many times (results, templates, the checker)."""
    phrases = load_wording().evidence[lang]
    if lang == "zh" and (key not in phrases or (key in _NEEDS_TITLE and not title)):
        return _phrase("en", key, measure, interest, title, people, scene)  # no Chinese phrase for it: the English
    template = phrases.get(f"{key}.{measure}", phrases[key])
    return load_wording().render(template, interest=interest, title=title, people=people,
                                 scene=zh_scene(scene) if lang == "zh" else scene)  # fmt: skip


def with_text(
    evidence: Iterable[Evidence], titles: Mapping[str, str], item_scene: str, language: str = "en"
) -> list[Evidence]:
    """The evidence with :attr:`~scenebridge.rerank.api.Evidence.text` filled in ``language``, for results and
    tools."""
    return [ev.model_copy(update={"text": evidence_phrase(ev, titles, item_scene, language)}) for ev in evidence]


def explanation(title: str, scene: str, reasons: Sequence[str], language: str = "en") -> str:
    """The template sentence for one item from its reasons' phrases."""
    lang = _lang(language)
    shown = [r for r in reasons if r.strip()]
    return load_wording().render(load_wording().explanation[lang], title=title, reasons=shown,
                                 scene=zh_scene(scene) if lang == "zh" else scene)  # fmt: skip


def reply(
    scene: str, language: str, topics: Sequence[str], exclusions: Sequence[str], lines: Sequence[tuple[int, str]]
) -> str:
    """The answer as plain text: a head line, then one ``rank. explanation`` line per item."""
    lang = _lang(language)
    texts = load_wording().reply[lang]
    render = load_wording().render
    if not lines:
        return render(texts["empty"])
    head = render(texts["head"], n=len(lines), scene=zh_scene(scene) if lang == "zh" else scene,
                  topics=list(topics), exclusions=list(exclusions))  # fmt: skip
    return "\n".join([head, *(render(texts["item"], rank=rank, explanation=text) for rank, text in lines)])


def note(key: str, **values: Any) -> str:
    """A note for the person (``notes`` in ``wording.yaml``)."""
    return load_wording().render(load_wording().notes[key], **values)


def change(key: str, **values: Any) -> str:
    """What a turn changed in the session (``refinements`` in ``wording.yaml``)."""
    return load_wording().render(load_wording().refinements[key], **values)
