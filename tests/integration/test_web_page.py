"""The chat page in a real browser: headless Debian chromium (Playwright) against a real `scenebridge serve`.

The store is the 437-item slice of the real Amazon Art/Office catalogue (``examples/catalogues/art-office-mini``)
indexed with the multilingual USE embedder into a temporary folder; the parser is the lexical one, and one test points
the server at an OpenAI-compatible endpoint that stalls past the LLM timeout. Screenshots go to ``docs/img/``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from scenebridge.store.chroma import ItemStore
from scenebridge.store.embed import cached_embedder
from tests.helpers import ROOT, free_port, scenebridge_serve, send_json
from tests.helpers import serve as serve_handler

pytestmark = pytest.mark.integration
playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium")
IMG = ROOT / "docs" / "img"
ITEMS = ROOT / "examples" / "catalogues" / "art-office-mini" / "items.csv"


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A data home with the real catalogue slice indexed with USE (the shared embedding cache keeps it quick)."""
    root = tmp_path_factory.mktemp("web-home")
    store = ItemStore(cached_embedder("use-multilingual"), path=root / "store")
    store.index(pd.read_csv(ITEMS, dtype=str))
    store.embedder.cache.close()
    return root


@contextmanager
def serve(home: Path, llm: str = "none", env: dict[str, str] | None = None) -> Iterator[tuple[str, Any]]:
    """`scenebridge serve` on 127.0.0.1 over the home's store; yields its URL and process."""
    full = {**os.environ, "SCENEBRIDGE_HOME": str(home), **(env or {})}
    args = ["--store", str(home / "store"), "--embedder", "use-multilingual", "--llm", llm]
    with scenebridge_serve(args, free_port(), env=full, timeout=180) as running:
        yield running


@pytest.fixture(scope="module")
def server(home) -> Iterator[str]:
    with serve(home) as (url, _):
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.fail("the browser tests need Debian's chromium: `make browser` (apt-get install -y chromium)")
    with playwright_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


class Page:
    """One browser tab on the page, with every request it made."""

    def __init__(self, browser: Any, url: str, locale: str = "en-US") -> None:
        self.url, self.requests = url, []
        self.context = browser.new_context(locale=locale, viewport={"width": 1000, "height": 760})
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.tab = self.context.new_page()
        self.tab.set_default_timeout(120_000)
        self.open()

    def open(self, reload: bool = False) -> None:
        self.tab.reload() if reload else self.tab.goto(self.url)
        self.tab.wait_for_selector("body[data-ready]")
        assert self.tab.get_attribute("body", "data-ready") == "true", self.tab.inner_text("#status")

    def turns(self) -> int:
        return int(self.tab.evaluate("window.sbTimings.filter(e => e.event === 'done' || e.event === 'error').length"))

    def ask(self, text: str | None = None, click: str | None = None) -> dict[str, Any]:
        """Says ``text`` (typed, Enter) or clicks ``click``; returns the turn's result (None when it failed)."""
        before, answered = self.turns(), self.tab.evaluate("window.sbResults.length")
        if click:
            self.tab.click(click)
        else:
            self.tab.fill("#msg", text or "")
            self.tab.press("#msg", "Enter")
        self.tab.wait_for_function(
            "(n) => window.sbTimings.filter(e => e.event === 'done' || e.event === 'error').length > n", arg=before
        )
        return self.tab.evaluate("(n) => window.sbResults.length > n ? window.sbResults[n] : null", answered)

    def events(self) -> list[dict[str, Any]]:
        return self.tab.evaluate("window.sbTimings")

    def answer(self, n: int) -> Any:
        return self.tab.locator("#log > li.answer").nth(n - 1)

    def only_local(self) -> None:
        outside = [u for u in self.requests if not u.startswith(("http://127.0.0.1:", "data:"))]
        assert not outside, outside

    def close(self) -> None:
        self.context.close()


def shot(page: Page, name: str) -> None:
    """The top of the conversation (the first question, its chips and cards) as a PNG in docs/img/."""
    IMG.mkdir(parents=True, exist_ok=True)
    page.tab.evaluate("window.scrollTo(0, 0)")
    page.tab.screenshot(path=str(IMG / name))


def chips_before_items(page: Page) -> None:
    """Every turn's chips were on screen, with no card yet, before its first card."""
    ev = page.events()
    for turn in {e["turn"] for e in ev}:
        parsed = next(e for e in ev if e["turn"] == turn and e["event"] == "parsed")
        ranked = next(e for e in ev if e["turn"] == turn and e["event"] == "ranked")
        assert parsed["cards"] == 0
        assert parsed["rendered_ms"] <= ranked["arrived_ms"]
        assert parsed["server_ms"] < ranked["server_ms"]
        assert "parse" in parsed["timings_ms"]
        assert "rerank" not in parsed["timings_ms"]


def test_an_english_conversation_of_three_turns(server, browser):
    page = Page(browser, server)
    try:
        assert page.tab.inner_text("#send") == "Send"
        first = page.ask("I paint with watercolors and acrylics; now I need office supplies for my desk, no tape")
        assert first["scene"] == "office"
        answer = page.answer(1)
        assert "tape" in answer.locator(".chip-exclusion").first.inner_text()
        assert answer.locator(".chip-scene").input_value() == "office"
        assert answer.locator(".card").count() == len(first["items"]) > 0
        card = answer.locator(".card").nth(1)
        assert first["items"][1]["title"] in card.locator("h3").inner_text()
        assert card.locator(".explanation").inner_text() == first["items"][1]["explanation"]
        assert card.locator(".evidence li").count() >= 1
        second = page.ask(click="#log > li.answer:nth-of-type(2) .card:nth-child(2) .more")  # "more like this"
        assert second["refinements"][0].startswith("more like item 2")
        assert first["items"][1]["item_id"] not in {i["item_id"] for i in second["items"]}
        third = page.ask("cheaper please")
        assert "tape" in third["summary"]["exclusions"]
        assert "cheaper" in third["summary"]["constraints"]["other"]
        assert not any("tape" in i["title"].lower() for r in (first, second, third) for i in r["items"])
        # Keyboard: focus a like button and press Enter; the details toggle shows the timings.
        page.answer(3).locator(".card .like").first.focus()
        page.tab.keyboard.press("Enter")
        page.tab.wait_for_selector("#log > li.answer:nth-of-type(6) .like[aria-pressed=true]")
        page.answer(3).locator(".details summary").click()
        assert page.answer(3).locator(".timings th[scope=row]", has_text="rerank").count() == 1
        unnamed = page.tab.evaluate("""[...document.querySelectorAll('button, select, textarea')]
            .filter(n => !(n.getAttribute('aria-label') || n.textContent.trim() || n.labels?.length)).length""")
        assert unnamed == 0
        chips_before_items(page)
        page.only_local()
        shot(page, "web-chat-en.png")
    finally:
        page.close()


def test_a_chinese_conversation_of_three_turns_and_the_language_switch(server, browser):
    page = Page(browser, server, locale="zh-CN")
    try:
        assert page.tab.inner_text("#send") == "发送"
        first = page.ask("我平时画水彩画，现在想买办公用品，不要胶带")
        assert first["scene"] == "office"
        assert first["summary"]["language"] == "zh"
        assert "胶带" in page.answer(1).locator(".chip-exclusion").first.inner_text()
        assert page.answer(1).locator(".chips").get_attribute("aria-label") == "我理解的是"
        second = page.ask(click="#log > li.answer:nth-of-type(2) .card:nth-child(2) .more")  # sends 更像第2个
        assert second["refinements"]
        assert page.tab.locator("#log > li.user").nth(1).inner_text().strip().endswith("更像第2个")
        third = page.ask("便宜点")
        assert "cheaper" in third["summary"]["constraints"]["other"]
        assert "胶带" in third["summary"]["exclusions"]
        chips_before_items(page)
        page.only_local()
        shot(page, "web-chat-zh.png")
        # The chips edit the session: drop the exclusion, move to art; the next answer follows both.
        page.answer(3).locator(".chip-x").first.click()
        page.tab.wait_for_selector("#log > li.answer:nth-of-type(6) .note >> text=已去掉")
        assert page.answer(3).locator(".chip-exclusion").count() == 0
        page.answer(3).locator(".chip-scene").select_option("art")
        page.tab.wait_for_selector("#log > li.answer:nth-of-type(6) .note >> text=场景已改为 art")
        assert page.tab.locator("#scene").input_value() == "art"
        fourth = page.ask("便宜点")
        assert fourth["scene"] == "art"
        assert "胶带" not in fourth["summary"]["exclusions"]
        assert all(i["scene"] == "art" for i in fourth["items"])
        page.tab.click("#lang")
        assert page.tab.inner_text("#send") == "Send"
        assert page.tab.get_attribute("html", "lang") == "en"
    finally:
        page.close()


def test_a_like_changes_the_next_answers_evidence_and_a_reload_keeps_the_conversation(server, browser):
    def conversation(like: bool) -> tuple[Page, dict[str, Any], dict[str, Any]]:
        page = Page(browser, server)
        page.tab.select_option("#scene", "art")
        first = page.ask("watercolor paint sets and brushes")
        if like:
            page.answer(1).locator(".card .like").first.click()
            page.tab.wait_for_selector(".card .like[aria-pressed=true]")
            assert "Liked" in page.tab.inner_text("#status")
        page.tab.select_option("#scene", "office")
        return page, first, page.ask("notebooks and pens for my desk")

    plain, _, without = conversation(like=False)
    plain.close()
    page, first, liked = conversation(like=True)
    try:
        liked_id = first["items"][0]["item_id"]

        def from_history(result: dict[str, Any]) -> set[str]:
            return {e["item_id"] for i in result["items"] for e in i["evidence"] if e["kind"] == "history-content"}

        assert liked_id not in from_history(without)
        assert liked_id in from_history(liked)  # the liked art item is now a reason for office items
        title = first["items"][0]["title"]
        assert any(title in t for t in page.answer(2).locator(".evidence li").all_inner_texts())
        statements = page.tab.locator("#log > li.user").all_inner_texts()
        page.open(reload=True)
        assert page.tab.locator("#log > li.user").all_inner_texts() == statements
        assert page.answer(2).locator(".card").count() == len(liked["items"])
        after = page.ask("more like the first one")
        assert after["session_id"] == liked["session_id"]
        assert after["refinements"][0].startswith("more like item 1")
        page.only_local()
    finally:
        page.close()


class _Stall(BaseHTTPRequestHandler):
    def do_POST(self):
        time.sleep(5)
        send_json(self, {"choices": [{"message": {"role": "assistant", "content": "{}"}}]})

    def log_message(self, *args):
        pass

    def handle(self):
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the server gave up waiting: the point
            super().handle()


def test_an_llm_timeout_and_a_lost_server_are_shown_as_messages(home, browser):
    # LLM wording too: the explanations wait for the stalled LLM after the cards went out, which shows the stream.
    env = {"SCENEBRIDGE_LLM_TIMEOUT": "1", "SCENEBRIDGE_AGENT_EXPLAIN": "llm"}
    with serve_handler(_Stall) as llm, serve(home, llm=llm, env=env) as (url, proc):
        page = Page(browser, url)
        try:
            result = page.ask("gel pens for the office, no printer ink")
            assert result["parse_source"] == "fallback"
            warn = page.answer(1).locator(".warn")
            assert "did not answer in time" in warn.inner_text()
            assert page.answer(1).locator(".card").count() == len(result["items"]) > 0  # answered from the catalogue
            assert all(i["explanation_source"] == "template" for i in result["items"])  # the checked fallback
            chips_before_items(page)
            ev = page.events()
            ranked = next(e for e in ev if e["event"] == "ranked")
            explained = [e for e in ev if e["event"] == "explained"]
            # The cards were in the browser before the server had the first explanation: streamed, not buffered.
            assert ranked["rendered_ms"] < min(e["server_ms"] for e in explained)
            proc.terminate()
            proc.wait(timeout=30)
            assert page.ask("more like the first one") is None
            assert "Cannot reach the server" in page.answer(2).locator(".error").inner_text()
            assert "Cannot reach the server" in page.tab.inner_text("#status")
        finally:
            page.close()
