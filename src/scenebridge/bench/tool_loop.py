"""A real model as the caller: a model behind an OpenAI-compatible server drives the tools (``run_tool_loop``) over
EN/ZH requests (``benchmarks/tool_requests.yaml``); its calls are untrusted input like any other.

Per request: did it end in a valid ``recommend``/``search_items`` call and an answer; which calls were invalid
(each answered with an error object) and which of those the model corrected; and whether the answer names an item
that is not in the catalogue (:mod:`scenebridge.bench.tool_loop_names`).
"""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scenebridge.bench.tool_loop_names import NameCheck, check_names
from scenebridge.errors import LLMError, UsageError
from scenebridge.prompts import load_prompt
from scenebridge.tools import TOOLS, Toolkit, run_tool_loop

if TYPE_CHECKING:
    from openai import OpenAI

__all__ = ["CORE", "ToolLoopRun", "ToolRequest", "bench_tool_loop", "figures", "llama_server", "load_requests"]

CORE = ("recommend", "search_items")
"""The tools that find items: a request is served when one of them answered without an error."""


class ToolRequest(BaseModel):
    """One request a person makes; ``scene`` is the scene they mean (for reading the run, not scored)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    lang: Literal["en", "zh"]
    say: str = Field(min_length=1)
    scene: str | None = None


class _RequestFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int
    requests: list[ToolRequest] = Field(min_length=1)


def load_requests(path: Path) -> list[ToolRequest]:
    """Reads a request file (YAML).

    Raises:
        UsageError: for a missing file or one that is not a valid request file.
    """
    import yaml

    try:
        data = yaml.safe_load(path.read_text("utf-8"))
        return _RequestFile.model_validate(data).requests
    except FileNotFoundError:
        msg = f"no request file at {path}"
        raise UsageError(msg) from None
    except (yaml.YAMLError, ValidationError) as exc:
        msg = f"{path} is not a tool-loop request file: {str(exc).splitlines()[0]}"
        raise UsageError(msg) from None


@dataclass
class RequestOutcome:
    """What happened to one request.

    Attributes:
        calls: each call as ``{"name", "ok", "error"}`` (error: the error object's type, or None).
        served: a core tool answered without an error and the model then answered in words.
        corrected: invalid calls followed, in the same request, by a valid call of the same tool.
        names: the answer's named items (see :class:`~scenebridge.bench.tool_loop_names.NameCheck`).
        failure: why the request could not run to the end (the server failed), if it did not.
    """

    id: str
    lang: str
    stopped: str
    rounds: int
    seconds: float
    reply: str
    calls: list[dict[str, Any]] = field(default_factory=list)
    served: bool = False
    corrected: int = 0
    returned: list[str] = field(default_factory=list)
    foreign_items: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    unknown_ids: list[str] = field(default_factory=list)
    failure: str | None = None


@dataclass
class ToolLoopRun:
    """One model's run over the requests."""

    model: str
    tools: list[str]
    outcomes: list[RequestOutcome]
    seconds: float
    planned: int = 0


def _returned(name: str, result: dict[str, Any]) -> dict[str, str]:
    """item id -> title of the items one tool answer holds."""
    if name in ("recommend", "search_items", "rerank"):
        return {i["item_id"]: i.get("title", "") for i in result.get("items", [])}
    return {}


def _outcome(req: ToolRequest, calls: list[Any], reply: str, stopped: str, rounds: int, seconds: float,
             catalogue: dict[str, str]) -> RequestOutcome:  # fmt: skip
    rows, returned, corrected, pending = [], {}, 0, Counter[str]()
    for call in calls:
        try:
            result = json.loads(call.result)
        except json.JSONDecodeError:  # dispatch always answers JSON; counted as an error if it ever did not
            result = {"error": {"type": "not-json"}}
        error = result["error"]["type"] if "error" in result else None
        rows.append({"name": call.name, "ok": error is None, "error": error, "arguments": call.arguments[:300]})
        if error is not None:
            pending[call.name] += 1
        else:
            corrected += pending.pop(call.name, 0)
            returned.update(_returned(call.name, result))
    served = stopped == "answered" and bool(reply.strip()) and any(r["ok"] and r["name"] in CORE for r in rows)
    names: NameCheck = check_names(reply, returned, catalogue)
    return RequestOutcome(
        id=req.id, lang=req.lang, stopped=stopped, rounds=rounds, seconds=round(seconds, 2), reply=reply,
        calls=rows, served=served, corrected=corrected, returned=sorted(returned),
        foreign_items=sorted(i for i in returned if i not in catalogue), names=dict(names.verdicts),
        unknown_ids=names.unknown_ids,
    )  # fmt: skip


def bench_tool_loop(
    toolkit: Toolkit,
    client: OpenAI,
    model: str,
    requests: Sequence[ToolRequest],
    *,
    max_rounds: int = 4,
    native: bool = True,
    max_tokens: int = 400,
    budget_s: float | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> ToolLoopRun:
    """Runs every request through :func:`~scenebridge.tools.run_tool_loop` and scores what came back.

    Args:
        toolkit: the tools the model may call (bound to a recommender over a real store).
        client: an ``openai.OpenAI`` client for the server.
        model: the model name the server knows.
        requests: the requests, one conversation each.
        max_rounds: most model calls per request.
        native: the server renders the model's own chat template, so its calls are ``<tool_call>`` text
            (read by the loop); else a server that returns ``tool_calls`` and drops ``tool`` messages
            (``chatml-function-calling``: results are handed back in a user message too).
        max_tokens: most tokens per model reply.
        budget_s: start no request after this many seconds (the run then holds the requests done so far).
        log: told one line per request.
    """
    rec = toolkit.recommender
    catalogue = {i: t for scene in rec.scenes for i, t in rec.store.titles(scene)}
    tools = tuple(t for t in TOOLS if t.name in toolkit.tools)
    system = load_prompt("tool_loop").render("system", scenes=rec.scenes)
    outcomes, start = [], time.perf_counter()
    for n, req in enumerate(requests, 1):
        t0 = time.perf_counter()
        if budget_s is not None and t0 - start > budget_s:
            log(f"time budget of {budget_s:.0f} s spent: {n - 1} of {len(requests)} requests run")
            break
        messages = [{"role": "system", "content": system}, {"role": "user", "content": req.say}]
        try:
            res = run_tool_loop(toolkit, client, model, messages, tools=tools, max_rounds=max_rounds, compact=True,
                                read_text_calls=native, results_as_user=not native, max_tokens=max_tokens)  # fmt: skip
            out = _outcome(req, res.calls, res.reply, res.stopped, res.rounds, time.perf_counter() - t0, catalogue)
        except LLMError as exc:  # the server failed (context full, crashed): the request is lost, the run goes on
            out = _outcome(req, [], "", "failed", 0, time.perf_counter() - t0, catalogue)
            out.failure = str(exc).splitlines()[0]
        except Exception as exc:  # a tool or the loop raised: the very thing this run looks for, so it is counted
            out = _outcome(req, [], "", "raised", 0, time.perf_counter() - t0, catalogue)
            out.failure = f"{type(exc).__name__}: {str(exc)[:200]}"
        outcomes.append(out)
        bad = sum(not c["ok"] for c in out.calls)
        log(f"[{n}/{len(requests)}] {req.id}: {out.stopped}, {len(out.calls)} calls ({bad} invalid, "
            f"{out.corrected} corrected), served={out.served}, {out.seconds:.1f} s")  # fmt: skip
    return ToolLoopRun(model, [t.name for t in tools], outcomes, round(time.perf_counter() - start, 1), len(requests))


def figures(run: ToolLoopRun) -> dict[str, Any]:
    """The run's figures (shares as fractions, counts as integers)."""
    outs = run.outcomes
    calls = [c for o in outs for c in o.calls]
    invalid = [c for c in calls if not c["ok"]]
    verdicts = Counter(v for o in outs for v in o.names.values())
    secs = sorted(o.seconds for o in outs)
    by_lang = {lang: [o for o in outs if o.lang == lang] for lang in sorted({o.lang for o in outs})}
    return {
        "model": run.model,
        "tools_offered": ", ".join(run.tools),
        "requests_planned": run.planned,
        "requests": len(outs),
        "served_share": round(sum(o.served for o in outs) / len(outs), 3),
        **{f"served_share_{lang}": round(sum(o.served for o in group) / len(group), 3)
           for lang, group in by_lang.items()},
        "answered_share": round(sum(o.stopped == "answered" and bool(o.reply.strip()) for o in outs) / len(outs), 3),
        "answered_without_any_call": sum(o.stopped == "answered" and not o.calls for o in outs),
        "cut_off_at_max_rounds": sum(o.stopped == "max_rounds" for o in outs),
        "server_failures": sum(o.stopped == "failed" for o in outs),
        "calls": len(calls),
        "calls_by_tool": dict(Counter(c["name"] for c in calls)),
        "invalid_calls": len(invalid),
        "invalid_calls_by_type": dict(Counter(c["error"] for c in invalid)),
        "requests_where_a_tool_or_the_loop_raised": sum(o.stopped == "raised" for o in outs),
        "invalid_calls_corrected": sum(o.corrected for o in outs),
        "requests_with_an_invalid_call": sum(any(not c["ok"] for c in o.calls) for o in outs),
        "items_returned_outside_catalogue": sum(len(o.foreign_items) for o in outs),
        "answers_naming_items": sum(bool(o.names) for o in outs),
        "named_items_from_tool_results": verdicts["result"],
        "named_items_in_catalogue_not_returned": verdicts["catalogue"],
        "named_items_unmatched": verdicts["unmatched"],
        "named_items_unverifiable_translated": verdicts["untranslatable"],
        "unknown_item_ids_in_answers": sum(len(o.unknown_ids) for o in outs),
        "seconds_total": run.seconds,
        "seconds_per_request_p50": round(statistics.median(secs), 1) if secs else 0.0,
        "seconds_per_request_max": secs[-1] if secs else 0.0,
    }  # fmt: skip


def report(run: ToolLoopRun, command: str, notes: Sequence[str] = ()) -> dict[str, Any]:
    """The run as ``{"title", "command", "figures", "notes"}`` (the reliability report renders these), plus every
    request's outcome for reading."""
    return {
        "title": f"A real model as the caller: {run.model} drives the tools",
        "command": command,
        "figures": figures(run),
        "notes": list(notes),
        "outcomes": [o.__dict__ for o in run.outcomes],
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def llama_server(model: Path, *, n_ctx: int = 8192, threads: int = 2, log: Path | None = None, ready_s: float = 300.0,
                 alias: str = "caller", chat_format: str | None = None) -> Iterator[str]:  # fmt: skip
    """llama-cpp-python's OpenAI-compatible server on 127.0.0.1; yields its base URL and stops it after.

    With ``chat_format`` None the server renders the GGUF's own chat template, which for Qwen 2.5 lists the tools
    and renders tool results, and leaves the model's calls as ``<tool_call>`` text. ``chatml-function-calling``
    (the one handler of llama-cpp-python 0.3.36 that returns ``tool_calls`` for a ChatML model) drops ``tool``
    messages, and its answer branch is constrained by its call grammar, so it can only answer
    ``functions.NAME:`` or nothing (3 of 3 probe requests with the 0.5B model).

    Raises:
        UsageError: when the model file is missing; LLMError: when the server exits or is not ready in time.
    """
    import httpx

    if not model.is_file():
        msg = f"no model file at {model}"
        raise UsageError(msg)
    port = _free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1", "--port",
           str(port), "--n_ctx", str(n_ctx), "--n_threads", str(threads), "--model_alias", alias]  # fmt: skip
    if chat_format is not None:
        cmd += ["--chat_format", chat_format]
    out = log.open("wb") if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + ready_s
        while True:
            if proc.poll() is not None:
                msg = f"llama_cpp.server exited with {proc.returncode}" + (f"; see {log}" if log else "")
                raise LLMError(msg)
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                msg = f"llama_cpp.server was not ready in {ready_s:.0f} s"
                raise LLMError(msg)
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log is not None and hasattr(out, "close"):
            out.close()


def run_bench(*, store: Path, model: Path, requests: Path, limit: int | None = None, n_ctx: int = 8192,
              threads: int = 1, max_rounds: int = 3, max_tokens: int = 200, timeout_s: float = 900.0,
              budget_s: float | None = None, command: str = "",
              log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:  # fmt: skip
    """``scenebridge bench tool-loop``: starts the server for ``model``, builds the tools over ``store`` (lexical
    parse inside ``recommend``, content reranker: the caller is the only model), runs the requests, reports.

    Raises:
        UsageError: for a missing store, model or request file; LLMError: when the server does not start.
    """
    import tempfile

    from openai import OpenAI

    from scenebridge.build import build_recommender
    from scenebridge.settings import Settings

    todo = load_requests(requests)[:limit]
    rec = build_recommender(settings=Settings.load(store={"path": store}), llm=None, reranker=None, profiles=None,
                            sessions=None)  # fmt: skip
    toolkit = Toolkit(rec, tuple(t for t in TOOLS if t.name in CORE))
    server_log = Path(tempfile.mkdtemp(prefix="scenebridge-tool-loop-")) / "llama-server.log"
    t0 = time.perf_counter()
    with llama_server(model, n_ctx=n_ctx, threads=threads, log=server_log) as base:
        log(f"server for {model.name} ready in {time.perf_counter() - t0:.0f} s ({base}; log {server_log})")
        client = OpenAI(base_url=base, api_key="none", max_retries=0, timeout=timeout_s)
        run = bench_tool_loop(toolkit, client, "caller", todo, max_rounds=max_rounds, max_tokens=max_tokens,
                              budget_s=budget_s, log=log)  # fmt: skip
    run.model = model.stem
    notes = [
        f"{len(todo)} requests from {requests} on the store {store} ({', '.join(rec.scenes)}); tools offered: "
        f"{', '.join(run.tools)}; llama-cpp-python's server with the GGUF's own chat template (Qwen 2.5's tool "
        f"format: the loop reads <tool_call> blocks of the reply as calls), n_ctx {n_ctx}, {threads} threads, "
        f"temperature 0, at most {max_rounds} model calls and {max_tokens} tokens per reply; the model sees each "
        "answer compacted (item id, title, category, scene, explanation)."
        + (f" Time budget {budget_s:.0f} s: {len(run.outcomes)} of {len(todo)} requests ran." if budget_s else ""),
        "chatml-function-calling (llama-cpp-python 0.3.36) was tried first: it drops tool messages and constrains "
        "its answer to 'functions.NAME:', so no request could end in an answer (3 of 3 probe requests, 0.5B).",
        "served = a recommend/search_items call answered without an error, then an answer in words.",
        "Named items: list entries, bold and quoted names in the answer, fuzzy-matched (rapidfuzz partial_ratio) to "
        "the titles the tools returned in that request (>= 85), else to every catalogue title (>= 90); "
        "'unmatched' ones are possible inventions, read them in outcomes[].names.",
    ]
    return report(run, command, notes)
