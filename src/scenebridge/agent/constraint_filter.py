"""Applies a summary's attribute constraints to a turn's candidates: each item is kept or filtered with a reason,
and the person is told what was applied and what could not be (the catalogue has no such attribute).

What each constraint does (an item whose value is unknown is kept: nothing says it breaks the wish):

- ``year_min`` / ``year_max``: items outside the years go.
- ``newer``: with reference items (shown before, seen, or linked from what the person mentioned) that have years,
  items not newer than the median reference year go; without references, or when none is newer, the older half of
  the candidates goes (those before the candidates' median year).
- ``price_min`` / ``price_max``: items outside the prices go.
- "cheaper" (``other``): like ``newer``, below the references' median price, else the cheaper half.
- ``no_sequels``: titles that read as sequels go (:func:`~scenebridge.agent.constraints.is_sequel`).
- ``brand``: items of another brand go (the ``brand`` attribute, or the name in the title or category); when no
  candidate has the brand, nothing is filtered and a note says so.

A constraint on an attribute the catalogue does not have filters nothing and gives a note ("this catalogue has no
prices, so 'at most 20' could not be applied"); "cheaper" without prices keeps the older ``no_prices`` note.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scenebridge.agent.constraints import is_sequel
from scenebridge.agent.linking import norm_title
from scenebridge.agent.result import ItemRecord
from scenebridge.agent.summary import Constraints
from scenebridge.prompts import load_wording

__all__ = ["ConstraintFilter"]

Keep = Callable[[ItemRecord], bool]


_SUBTITLE = re.compile(r"^(?P<base>.+?)\s*(?::|\s-\s|\s–\s)\s*\S")


def continues(title: str, titles: Collection[str]) -> bool:
    """Whether a title is "X: subtitle" (or "X - subtitle") where X is another title of the catalogue ("Alien:
    Resurrection" after "Alien", "Die Hard: With a Vengeance" after "Die Hard")."""
    m = _SUBTITLE.match(title.strip())
    if m is None or not titles:
        return False
    base = norm_title(m.group("base"))
    return bool(base) and base in titles and base != norm_title(title)


def _number(rec: ItemRecord, name: str) -> float | None:
    value = rec.attrs.get(name)
    try:
        number = float(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None
    return number if number is not None and math.isfinite(number) else None


def _price(value: float) -> str:
    return f"{value:g}"


@dataclass
class ConstraintFilter:
    """Which candidates a summary's constraints rule out, and what to tell the person.

    Attributes:
        constraints: the summary's constraints.
        attributes: the attributes the catalogue (the target scene) has, e.g. ``{"year"}``.
        reference: the attributes of the reference items ("newer" / "cheaper" than these).
        language: the language of the notes (``zh`` or English).
        notes: filled by :meth:`apply`: what was applied (how many removed) and what could not be.
    """

    constraints: Constraints
    attributes: frozenset[str] = frozenset()
    reference: list[Mapping[str, Any]] = field(default_factory=list)
    language: str = "en"
    notes: list[str] = field(default_factory=list)
    titles: frozenset[str] = frozenset()

    @classmethod
    def build(
        cls,
        constraints: Constraints,
        attributes: Collection[str] = (),
        reference: Iterable[Mapping[str, Any]] = (),
        language: str = "en",
        titles: Collection[str] = (),
    ) -> ConstraintFilter:
        """A filter for one turn; ``titles`` are the scene's titles normalised by
        :func:`~scenebridge.agent.linking.norm_title`: "Alien: Resurrection" continues "Alien" when that is one."""
        return cls(constraints, frozenset(attributes), list(reference), "zh" if language == "zh" else "en",
                   titles=frozenset(titles))  # fmt: skip

    @property
    def active(self) -> bool:
        """Whether any constraint would filter (or note) anything."""
        c = self.constraints
        bounds = (c.year_min, c.year_max, c.price_min, c.price_max, c.brand)
        return any(v is not None for v in bounds) or c.newer or c.no_sequels or "cheaper" in c.other

    def apply(self, records: Sequence[ItemRecord]) -> tuple[list[ItemRecord], dict[str, str]]:
        """The records kept, and item id -> why for those removed (the constraint, in English)."""
        self.notes = []
        removed: dict[str, str] = {}
        kept = list(records)
        if not self.active:
            return kept, removed
        for step in (self._years, self._newer, self._prices, self._cheaper, self._sequels, self._brand):
            kept = step(kept, removed)
        return kept, removed

    # -- the steps -----------------------------------------------------------------------------------------------

    def _years(self, recs: list[ItemRecord], removed: dict[str, str]) -> list[ItemRecord]:
        lo, hi = self.constraints.year_min, self.constraints.year_max
        if lo is None and hi is None:
            return recs
        what: tuple[str, dict[str, Any]]
        if lo is not None and hi is not None:
            what = ("year_range", {"lo": lo, "hi": hi})
        else:
            what = ("year_min", {"year": lo}) if lo is not None else ("year_max", {"year": hi})
        if "year" not in self.attributes:
            return self._missing("year", what, recs)
        low, high = lo if lo is not None else -math.inf, hi if hi is not None else math.inf

        def keep(r: ItemRecord) -> bool:
            y = _number(r, "year")
            return y is None or low <= y <= high

        return self._keep(recs, removed, what, keep)

    def _newer(self, recs: list[ItemRecord], removed: dict[str, str]) -> list[ItemRecord]:
        if not self.constraints.newer:
            return recs
        return self._relative(recs, removed, "year", "newer", newer=True)

    def _cheaper(self, recs: list[ItemRecord], removed: dict[str, str]) -> list[ItemRecord]:
        c = self.constraints
        if "cheaper" not in c.other:
            return recs
        if "price" not in self.attributes:
            if c.price_max is None and c.price_min is None:  # else the price bound's note says it already
                self.notes.append(self._say("no_prices"))
            return recs
        return self._relative(recs, removed, "price", "cheaper", newer=False)

    def _relative(
        self, recs: list[ItemRecord], removed: dict[str, str], name: str, key: str, newer: bool
    ) -> list[ItemRecord]:
        """Newer (or cheaper) than the references' median, else the newer (cheaper) half of the candidates."""
        if name not in self.attributes:
            return self._missing(name, (key + "_plain", {}), recs)
        values = [v for v in (_number(r, name) for r in recs) if v is not None]
        if not values:
            return recs
        refs = [float(a[name]) for a in self.reference if isinstance(a.get(name), int | float)]
        sign = 1.0 if newer else -1.0
        if refs:
            mid = statistics.median(refs)
            if any(sign * (v - mid) > 0 for v in values):
                shown = int(mid) if name == "year" else _price(mid)
                return self._keep(recs, removed, (key, {name: shown}), self._beyond(name, mid, sign, strict=True))
        mid = statistics.median(values)
        return self._keep(recs, removed, (key + "_half", {}), self._beyond(name, mid, sign, strict=False))

    @staticmethod
    def _beyond(name: str, mid: float, sign: float, strict: bool) -> Keep:
        def keep(r: ItemRecord) -> bool:
            v = _number(r, name)
            if v is None:
                return True
            d = sign * (v - mid)
            return d > 0 if strict else d >= 0

        return keep

    def _prices(self, recs: list[ItemRecord], removed: dict[str, str]) -> list[ItemRecord]:
        lo, hi = self.constraints.price_min, self.constraints.price_max
        if lo is None and hi is None:
            return recs
        what: tuple[str, dict[str, Any]]
        if lo is not None and hi is not None:
            what = ("price_range", {"lo": _price(lo), "hi": _price(hi)})
        else:
            what = ("price_min", {"price": _price(lo)}) if lo is not None else ("price_max", {"price": _price(hi or 0)})
        if "price" not in self.attributes:
            return self._missing("price", what, recs)
        low, high = lo if lo is not None else -math.inf, hi if hi is not None else math.inf

        def keep(r: ItemRecord) -> bool:
            p = _number(r, "price")
            return p is None or low <= p <= high

        return self._keep(recs, removed, what, keep)

    def _sequels(self, recs: list[ItemRecord], removed: dict[str, str]) -> list[ItemRecord]:
        if not self.constraints.no_sequels:
            return recs
        return self._keep(recs, removed, ("no_sequels", {}),
                          lambda r: not is_sequel(r.title) and not continues(r.title, self.titles))  # fmt: skip

    def _brand(self, recs: list[ItemRecord], removed: dict[str, str]) -> list[ItemRecord]:
        brand = (self.constraints.brand or "").strip()
        if not brand:
            return recs
        what = ("brand", {"brand": brand})
        wanted = brand.casefold()
        # A Latin name is matched as a word ("Pilot", not "autopilot"); a Chinese one as it is written.
        named = re.compile(rf"(?<!\w){re.escape(wanted)}(?!\w)" if wanted.isascii() else re.escape(wanted))

        def keep(r: ItemRecord) -> bool:
            own = str(r.attrs.get("brand") or "").casefold()
            if own and (wanted in own or own in wanted):
                return True
            return bool(named.search(f"{r.title} {r.category}".casefold()))

        if not any(keep(r) for r in recs):
            if "brand" not in self.attributes:
                return self._missing("brand", what, recs)
            self.notes.append(self._say("constraint.no_match", what=self._what(*what)))
            return recs
        return self._keep(recs, removed, what, keep)

    # -- helpers -------------------------------------------------------------------------------------------------

    def _keep(
        self, recs: list[ItemRecord], removed: dict[str, str], what: tuple[str, dict[str, Any]], keep: Keep
    ) -> list[ItemRecord]:
        out = [r for r in recs if keep(r)]
        if len(out) < len(recs):
            reason = self._what(*what, language="en")
            kept_ids = {r.item_id for r in out}
            removed.update({r.item_id: reason for r in recs if r.item_id not in kept_ids})
            self.notes.append(self._say("constraint.applied", what=self._what(*what), n=len(recs) - len(out)))
        return out

    def _missing(self, name: str, what: tuple[str, dict[str, Any]], recs: list[ItemRecord]) -> list[ItemRecord]:
        self.notes.append(
            self._say("constraint.no_attribute", attribute=self._say(f"attribute.{name}"), what=self._what(*what))
        )
        return recs

    def _what(self, key: str, values: Mapping[str, Any], language: str | None = None) -> str:
        return self._say(f"what.{key}", language=language, **values)

    def _say(self, key: str, language: str | None = None, **values: Any) -> str:
        """A note (``notes`` in ``wording.yaml``), its ``.zh`` form for Chinese when there is one."""
        wording = load_wording()
        lang = language or self.language
        template = wording.notes.get(f"{key}.zh") if lang == "zh" else None
        return wording.render(template or wording.notes[key], **values)
