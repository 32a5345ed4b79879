"""Checks a canonical dataset folder and reports every problem as ``file:line: reason``.

Validation reads the files once, with the standard ``csv`` module, so that it can name the exact line of a bad
row and never crash on a malformed file; :func:`scenebridge.data.format.load_dataset` reuses the rows it parsed.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

__all__ = ["ATTRIBUTE_COLUMNS", "ITEM_COLUMNS", "SPLITS", "YEARS", "ParsedDataset", "Problem", "parse_dataset",
           "validate_dataset"]  # fmt: skip

ITEM_COLUMNS = ("item_id", "scene", "title", "category")
# Optional item columns with a meaning (any other column is kept as it is); empty values are allowed.
ATTRIBUTE_COLUMNS = ("description", "year", "price", "brand")
YEARS = (1000, 2100)  # a year outside is a typo or another unit (a timestamp), not a release year
INTERACTION_COLUMNS = ("user_id", "item_id", "scene")
USER_COLUMNS = ("user_id", "split")
SPLITS = ("train", "valid", "test")
# Beyond this many problems of one kind, the rest are counted instead of listed.
MAX_PER_KIND = 5

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One problem in a dataset file."""

    file: str
    line: int | None
    reason: str
    severity: Severity = "error"
    kind: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity}: {self.reason}"


@dataclass
class ParsedDataset:
    """Rows that passed the checks, column by column, plus the problems found."""

    problems: list[Problem] = field(default_factory=list)
    items: dict[str, list[str]] = field(default_factory=dict)
    interactions: dict[str, list] = field(default_factory=dict)
    users: dict[str, list[str]] | None = None
    order_column: str = "position"

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


class _Reporter:
    """Collects problems, keeping at most ``MAX_PER_KIND`` of each kind and counting the rest."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self._counts: dict[tuple[str, str], int] = {}
        self._first: dict[tuple[str, str], Problem] = {}

    def add(self, file: str, line: int | None, reason: str, kind: str, severity: Severity = "error") -> None:
        key = (file, kind)
        n = self._counts.get(key, 0) + 1
        self._counts[key] = n
        if n <= MAX_PER_KIND:
            problem = Problem(file, line, reason, severity, kind)
            self._first.setdefault(key, problem)
            self.problems.append(problem)

    def finish(self) -> list[Problem]:
        for (file, kind), n in self._counts.items():
            if n > MAX_PER_KIND:
                first = self._first[(file, kind)]
                self.problems.append(
                    Problem(
                        file,
                        None,
                        f"... and {n - MAX_PER_KIND} more like that ({kind})",
                        first.severity,
                        kind,
                    )
                )
        return self.problems


def _decode(path: Path, rep: _Reporter) -> str | None:
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        rep.add(name, None, f"cannot read the file ({exc.strerror or exc})", "unreadable")
        return None
    if not raw.strip():
        rep.add(name, None, "the file is empty; it needs a header line and at least one row", "empty")
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        rep.add(name, line, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8", "encoding")
        return None


def _rows(
    path: Path, required: tuple[str, ...], rep: _Reporter, rejected: set[str] | None = None
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yields (line number, row) for each well-formed row; reports the rest.

    The id (first required column) of each malformed row goes into ``rejected``, so that later checks do not report
    the same broken row again through its id.
    """
    text = _decode(path, rep)
    if text is None:
        return
    name = path.name
    reader = csv.reader(text.splitlines())
    try:
        header = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error) as exc:
        rep.add(name, 1, f"cannot read the header line ({exc})", "header")
        return
    missing = [c for c in required if c not in header]
    if missing:
        rep.add(
            name,
            1,
            f"missing column(s) {', '.join(repr(c) for c in missing)}; found {', '.join(header) or 'none'}",
            "columns",
        )
        return
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        rep.add(name, 1, f"column(s) named twice: {', '.join(dupes)}", "columns")
        return
    width = len(header)
    id_col = header.index(required[0])
    seen_rows = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rep.add(name, reader.line_num, f"malformed CSV ({exc})", "csv")
            continue
        line = reader.line_num
        if not fields or all(not f.strip() for f in fields):
            continue
        if len(fields) != width:
            rep.add(name, line, f"expected {width} fields, found {len(fields)}", "field count")
            if rejected is not None and id_col < len(fields):
                rejected.add(fields[id_col].strip())
            continue
        seen_rows += 1
        yield line, {h: f.strip() for h, f in zip(header, fields, strict=True)}
    if seen_rows == 0:
        rep.add(name, None, "the file has a header but no rows", "empty")


def _parse_order(value: str, column: str) -> float | None:
    """Parses a position (non-negative integer) or a timestamp (number or ISO 8601)."""
    if column == "position":
        return float(value) if value.isdigit() else None
    try:
        number = float(value)
        return number if math.isfinite(number) else None
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def parse_dataset(folder: str | Path) -> ParsedDataset:
    """Reads and checks a canonical dataset folder; never raises on bad content."""
    root = Path(folder)
    rep = _Reporter()
    out = ParsedDataset()
    if not root.is_dir():
        rep.add(str(root), None, "not a folder; expected a folder with items.csv and interactions.csv", "folder")
        out.problems = rep.finish()
        return out
    for required in ("items.csv", "interactions.csv"):
        if not (root / required).is_file():
            rep.add(required, None, f"missing from {root}", "missing file")
    if rep.problems:
        out.problems = rep.finish()
        return out

    items: dict[str, list[str]] = {c: [] for c in ITEM_COLUMNS}
    item_scene: dict[str, str] = {}
    item_line: dict[str, int] = {}
    rejected_items: set[str] = set()
    for line, row in _rows(root / "items.csv", ITEM_COLUMNS, rep, rejected_items):
        iid, scene = row["item_id"], row["scene"]
        if not iid or not scene:
            rep.add("items.csv", line, "empty item_id or scene", "empty id")
            continue
        if iid in item_line:
            rep.add("items.csv", line, f"duplicate item_id {iid!r} (first on line {item_line[iid]})", "duplicate")
            continue
        if not row["title"]:
            rep.add("items.csv", line, f"empty title for item {iid!r}", "empty title", "warning")
        for reason, kind in _attribute_problems(iid, row):
            # Reported, but the row is kept: its interactions would otherwise add one "unknown item" error each.
            rep.add("items.csv", line, reason, kind)
        item_line[iid] = line
        item_scene[iid] = scene
        for c, value in row.items():
            items.setdefault(c, []).append(value)
    out.items = items

    users: dict[str, list[str]] | None = None
    user_split: dict[str, str] = {}
    rejected_users: set[str] = set()
    if (root / "users.csv").is_file():
        users = {"user_id": [], "split": []}
        user_line: dict[str, int] = {}
        for line, row in _rows(root / "users.csv", USER_COLUMNS, rep, rejected_users):
            uid, split = row["user_id"], row["split"]
            if not uid:
                rep.add("users.csv", line, "empty user_id", "empty id")
                continue
            if split not in SPLITS:
                rep.add("users.csv", line, f"split {split!r} is not one of {', '.join(SPLITS)}", "bad split")
                rejected_users.add(uid)
                continue
            if uid in user_line:
                rep.add(
                    "users.csv",
                    line,
                    f"duplicate user_id {uid!r} (first on line {user_line[uid]})",
                    "duplicate",
                )
                continue
            user_line[uid] = line
            user_split[uid] = split
            users["user_id"].append(uid)
            users["split"].append(split)
    out.users = users

    inter_path = root / "interactions.csv"
    header = _peek_header(inter_path)
    order_col = "position" if "position" in header or "timestamp" not in header else "timestamp"
    out.order_column = order_col
    inter: dict[str, list] = {"user_id": [], "item_id": [], "scene": [], "order": []}
    seen_pairs: dict[tuple[str, str], int] = {}
    for line, row in _rows(inter_path, (*INTERACTION_COLUMNS, order_col), rep):
        uid, iid, scene = row["user_id"], row["item_id"], row["scene"]
        if not uid or not iid:
            rep.add("interactions.csv", line, "empty user_id or item_id", "empty id")
            continue
        known = item_scene.get(iid)
        if known is None and (not item_scene or iid in rejected_items):
            # items.csv itself is unreadable (reported above): listing every row as unknown adds only noise.
            continue
        if known is None:
            rep.add("interactions.csv", line, f"unknown item_id {iid!r} (not in items.csv)", "unknown item")
            continue
        if scene != known:
            rep.add(
                "interactions.csv",
                line,
                f"scene {scene!r} differs from item {iid!r}'s scene {known!r}",
                "scene",
            )
            continue
        order = _parse_order(row[order_col], order_col)
        if order is None:
            expected = "a non-negative integer" if order_col == "position" else "a number or an ISO 8601 time"
            rep.add("interactions.csv", line, f"{order_col} {row[order_col]!r} is not {expected}", "bad order")
            continue
        if uid in rejected_users:
            continue
        if users is not None and user_split and uid not in user_split:
            rep.add("interactions.csv", line, f"user {uid!r} is not in users.csv", "unknown user")
            continue
        pair = (uid, iid)
        if pair in seen_pairs:
            rep.add(
                "interactions.csv",
                line,
                f"repeated interaction of {uid!r} with {iid!r} (first on line {seen_pairs[pair]})",
                "duplicate",
                "warning",
            )
        else:
            seen_pairs[pair] = line
        inter["user_id"].append(uid)
        inter["item_id"].append(iid)
        inter["scene"].append(scene)
        inter["order"].append(order)
    out.interactions = inter
    out.problems = rep.finish()
    return out


def _attribute_problems(iid: str, row: dict[str, str]) -> Iterator[tuple[str, str]]:
    """What is wrong with an item's optional year and price (empty is fine)."""
    year = row.get("year", "")
    if year and not (year.isdigit() and YEARS[0] <= int(year) <= YEARS[1]):
        yield f"year {year!r} of item {iid!r} is not a whole year from {YEARS[0]} to {YEARS[1]} (e.g. 1995)", "bad year"
    price = row.get("price", "")
    if price:
        try:
            number = float(price)
        except ValueError:
            number = math.nan
        if not (math.isfinite(number) and number >= 0):
            yield f"price {price!r} of item {iid!r} is not a non-negative number (e.g. 12.99, no currency)", "bad price"


def _peek_header(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
            return [h.strip() for h in next(csv.reader(fh), [])]
    except (OSError, csv.Error):
        return []


def validate_dataset(folder: str | Path) -> list[Problem]:
    """Returns every problem in a canonical dataset folder (errors and warnings)."""
    return parse_dataset(folder).problems
