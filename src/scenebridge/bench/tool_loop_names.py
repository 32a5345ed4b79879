"""Which catalogue items a model's final answer names, and whether each is one the tools returned.

A model's answer is free text: it may copy a title, shorten it, translate it, or invent one. The check pulls out
what looks like a named item (list entries, bold or quoted names, item ids) and matches each against the titles the
tools returned in that conversation, then against the whole catalogue.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["NameCheck", "check_names", "mentions"]

_LIST = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)、])\s*(.+)$", re.MULTILINE)
_QUOTED = re.compile(r"\*\*(.+?)\*\*|\"([^\"\n]{3,200})\"|“([^”\n]{3,200})”|「([^」\n]{2,200})」|《([^》\n]{2,200})》")
# Where a list entry's name ends and its description starts.
_NAME_END = re.compile(r"\s+[-–—]\s+|[:：(（]|\s+\|\s+|，|。")
_ID = re.compile(r"\b[a-z]{1,2}\d{1,7}\b")
_WORD = re.compile(r"[a-z]{2,}")
MIN_CHARS = 8
"""Shorter mentions ("pens", "a set") name no particular item and are not checked (4 for Chinese characters)."""
RESULT_CUTOFF = 85
CATALOGUE_CUTOFF = 90

Verdict = Literal["result", "catalogue", "unmatched", "untranslatable"]


@dataclass
class NameCheck:
    """The named items of one answer.

    Attributes:
        verdicts: each checked mention and where it was found: ``result`` (a title the tools returned),
            ``catalogue`` (a catalogue title the tools did not return), ``unmatched`` (no title close enough: a
            possible invented item), ``untranslatable`` (no Latin letters, e.g. a title translated to Chinese,
            which no title of this English catalogue can confirm).
        ids: item ids written in the answer; unknown_ids: those that are not catalogue items.
    """

    verdicts: dict[str, Verdict] = field(default_factory=dict)
    ids: list[str] = field(default_factory=list)
    unknown_ids: list[str] = field(default_factory=list)

    def count(self, verdict: Verdict) -> int:
        """How many mentions got ``verdict``."""
        return sum(1 for v in self.verdicts.values() if v == verdict)


def mentions(answer: str) -> list[str]:
    """What in ``answer`` looks like a named item: list entries (their name part), bold or quoted names."""
    found: list[str] = []
    for line in _LIST.findall(answer):
        found.append(_NAME_END.split(line.replace("**", ""), maxsplit=1)[0])
    for groups in _QUOTED.findall(answer):
        found.extend(g for g in groups if g)
    out: list[str] = []
    for m in found:
        m = m.strip(" \t*_`'\"“”「」《》.,;!?")
        if _long_enough(m) and m.lower() not in (x.lower() for x in out):
            out.append(m)
    return out


def check_names(answer: str, returned: Mapping[str, str], catalogue: Mapping[str, str]) -> NameCheck:
    """Checks every item ``answer`` names against the titles the tools ``returned`` and the ``catalogue``.

    Args:
        answer: the model's final answer.
        returned: item id -> title of every item the tools returned in this conversation.
        catalogue: item id -> title of every catalogue item.
    """
    from rapidfuzz import fuzz, process, utils

    check = NameCheck()
    text = answer.lower()
    check.ids = sorted({i for i in _ID.findall(text) if i in catalogue or i in returned or _looks_like_id(i)})
    check.unknown_ids = [i for i in check.ids if i not in catalogue]
    results = list(dict.fromkeys(returned.values()))
    titles: list[str] | None = None
    for mention in mentions(answer):
        if not _WORD.search(mention.lower()):
            check.verdicts[mention] = "untranslatable"
            continue
        if results and process.extractOne(mention, results, scorer=fuzz.partial_ratio, processor=utils.default_process,
                                          score_cutoff=RESULT_CUTOFF):  # fmt: skip
            check.verdicts[mention] = "result"
            continue
        titles = titles if titles is not None else list(dict.fromkeys(catalogue.values()))
        # token_set_ratio narrows 40k titles cheaply; partial_ratio then judges the few closest.
        near = process.extract(mention, titles, scorer=fuzz.token_set_ratio, processor=utils.default_process, limit=5)
        best = max((fuzz.partial_ratio(utils.default_process(mention), utils.default_process(t)) for t, *_ in near),
                   default=0.0)  # fmt: skip
        check.verdicts[mention] = "catalogue" if best >= CATALOGUE_CUTOFF else "unmatched"
    return check


def _looks_like_id(token: str) -> bool:
    """An id-shaped token (``o123``) that is not a catalogue id is worth reporting only when it has digits enough
    not to be a size or a model number written in prose ("a4" paper, "b5" notebooks)."""
    return sum(c.isdigit() for c in token) >= 3


def _long_enough(mention: str) -> bool:
    cjk = sum("\u4e00" <= c <= "\u9fff" for c in mention)
    return len(mention) >= MIN_CHARS or cjk >= MIN_CHARS // 2
