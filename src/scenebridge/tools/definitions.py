"""The agent's tools, each defined once: a pydantic argument model, a typed function, a description.

Every face (LangChain, OpenAI function calling, MCP) is generated from :data:`TOOLS` and calls
:meth:`Toolkit.call`, which validates the arguments with the tool's model and never raises: a bad call returns an
error object with a clear message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scenebridge.agent.explain import Explanation
from scenebridge.agent.summary import InterestSummary
from scenebridge.agent.turn import Recommender
from scenebridge.errors import ScenebridgeError
from scenebridge.rerank.api import Evidence
from scenebridge.settings import MAX_K

__all__ = ["TOOLS", "Tool", "Toolkit"]

UserId = Field(None, max_length=200, description="The user's id, for their cross-scene profile; null if unknown.")


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ParseInterestsArgs(_Args):
    statement: str = Field(description="What the person said, in English or Chinese.")


class SearchItemsArgs(_Args):
    query: str = Field(min_length=1, max_length=2000, description="What to look for, any language.")
    scene: str | None = Field(None, description="Scene to search; null for all scenes.")
    k: int = Field(10, ge=1, le=MAX_K, description="How many items.")
    exclude_ids: list[str] = Field(default_factory=list, max_length=500, description="Item ids to leave out.")


class RerankArgs(_Args):
    scene: str = Field(description="The scene the items belong to.")
    item_ids: list[str] = Field(min_length=1, max_length=200, description="Catalogue item ids to order.")
    interests: list[str] = Field(default_factory=list, max_length=12, description="The user's stated interests.")
    user_id: str | None = UserId
    k: int = Field(10, ge=1, le=MAX_K, description="How many items to return.")


class ExplainArgs(_Args):
    scene: str = Field(description="The scene the items belong to.")
    item_ids: list[str] = Field(min_length=1, max_length=MAX_K, description="Recommended item ids to explain.")
    interests: list[str] = Field(default_factory=list, max_length=12, description="The user's stated interests.")
    user_id: str | None = UserId
    language: Literal["en", "zh"] = Field("en", description="Language of the explanations.")


class RecordFeedbackArgs(_Args):
    user_id: str = Field(min_length=1, max_length=200, description="The user's id.")
    item_id: str = Field(min_length=1, max_length=200, description="The catalogue item.")
    kind: Literal["like", "dislike", "purchase", "view"] = Field("like", description="What the user did.")


class RecommendArgs(_Args):
    statement: str = Field(description="What the person said they did and want now, in English or Chinese.")
    user_id: str | None = UserId
    scene: str | None = Field(None, description="Scene to recommend in; null to take it from the statement.")
    session_id: str | None = Field(None, max_length=200, description="Continue this session; null for a new one.")
    k: int = Field(10, ge=1, le=MAX_K, description="How many items.")


class ParsedInterests(BaseModel):
    summary: InterestSummary
    source: str


class FoundItem(BaseModel):
    item_id: str
    scene: str
    title: str
    category: str
    score: float


class FoundItems(BaseModel):
    items: list[FoundItem]


class RankedItem(BaseModel):
    item_id: str
    scene: str
    title: str
    score: float
    evidence: list[Evidence]


class RankedItems(BaseModel):
    items: list[RankedItem]
    unknown_ids: list[str] = Field(default_factory=list)


class Explanations(BaseModel):
    explanations: list[Explanation]


class FeedbackRecorded(BaseModel):
    """The recorded feedback: the item's scene and the size of the user's cross-scene history now."""

    user_id: str
    item_id: str
    scene: str
    kind: str
    history_size: int


def _parse(rec: Recommender, a: ParseInterestsArgs) -> ParsedInterests:
    result = rec.parse(a.statement)
    return ParsedInterests(summary=result.summary, source=result.source)


def _search(rec: Recommender, a: SearchItemsArgs) -> FoundItems:
    hits = rec.search(a.query, scene=a.scene, k=a.k, exclude=a.exclude_ids)
    return FoundItems(items=[FoundItem(item_id=h.item_id, scene=h.scene, title=h.title, category=h.category,
                                       score=round(h.score, 6)) for h in hits])  # fmt: skip


def _rerank(rec: Recommender, a: RerankArgs) -> RankedItems:
    scored, unknown = rec.score(a.scene, a.item_ids, a.interests, a.user_id, a.k)
    items = [RankedItem(item_id=r.item_id, scene=r.scene, title=r.title, score=round(r.score or 0.0, 6),
                        evidence=r.evidence) for r in scored]  # fmt: skip
    return RankedItems(items=items, unknown_ids=unknown)


def _explain(rec: Recommender, a: ExplainArgs) -> Explanations:
    return Explanations(explanations=rec.explain(a.scene, a.item_ids, a.interests, a.user_id, a.language))


def record_feedback(rec: Recommender, user_id: str, item_id: str, kind: str) -> FeedbackRecorded:
    """Records feedback in the user's profile; the answer the tool and the HTTP API both give."""
    scene = rec.feedback(user_id, item_id, kind)
    size = len(rec.profiles.history(user_id)) if rec.profiles is not None else 0
    return FeedbackRecorded(user_id=user_id, item_id=item_id, scene=scene, kind=kind, history_size=size)


def _feedback(rec: Recommender, a: RecordFeedbackArgs) -> FeedbackRecorded:
    return record_feedback(rec, a.user_id, a.item_id, a.kind)


def _recommend(rec: Recommender, a: RecommendArgs) -> BaseModel:
    return rec.turn(a.statement, user_id=a.user_id, scene=a.scene, session_id=a.session_id, k=a.k)


@dataclass(frozen=True)
class Tool:
    """One tool: name, description, argument model, and the function behind it."""

    name: str
    description: str
    args: type[BaseModel]
    fn: Callable[[Recommender, Any], BaseModel]


TOOLS: tuple[Tool, ...] = (
    Tool("parse_interests", "Parse a statement (English or Chinese) into a typed interest summary: weighted topics, "
         "target scene, intent, exclusions, constraints.", ParseInterestsArgs, _parse),
    Tool("search_items", "Find catalogue items nearest to a text in one scene or all scenes.", SearchItemsArgs,
         _search),
    Tool("rerank", "Order catalogue items of one scene for the user's interests and cross-scene profile; each item "
         "comes with the evidence behind its score.", RerankArgs, _rerank),
    Tool("explain", "Explain recommended items in one grounded sentence each, built only from the item's fields, "
         "the stated interests and the reranker's evidence.", ExplainArgs, _explain),
    Tool("record_feedback", "Record that a user liked, disliked, bought or viewed an item; later recommendations "
         "in every scene use it (disliked items are never shown again).", RecordFeedbackArgs, _feedback),
    Tool("recommend", "The whole turn: parse the statement, retrieve, rerank, explain. Returns items with scores, "
         "evidence and explanations, and a session id for follow-ups such as 'not office paper', 'cheaper', "
         "'more like the second one' or a scene change.", RecommendArgs, _recommend),
)  # fmt: skip


class Toolkit:
    """The tools bound to one :class:`~scenebridge.agent.turn.Recommender`.

    Args:
        recommender: the turn engine (store, reranker, LLM, profiles, sessions).
        tools: which tools to expose (all by default).
    """

    def __init__(self, recommender: Recommender, tools: tuple[Tool, ...] = TOOLS) -> None:
        self.recommender = recommender
        self.tools = {t.name: t for t in tools}

    def call(self, name: str, arguments: dict[str, Any] | None) -> dict[str, Any]:
        """Runs a tool; returns its JSON-ready result, or ``{"error": {"type", "message"}}`` — never raises."""
        tool = self.tools.get(name)
        if tool is None:
            return _error("unknown_tool", f"no tool named {name[:100]!r}; tools: {', '.join(self.tools)}")
        if not isinstance(arguments, dict):
            return _error("invalid_arguments", f"{name}: arguments must be a JSON object")
        where = _lone_surrogate(arguments)
        if where is not None:  # JSON may escape one ("\ud800"); echoed back, the answer could not be sent as UTF-8
            where = where.encode("utf-8", "backslashreplace").decode("utf-8")  # the path may hold one too
            return _error("invalid_arguments", f"{name}: {where}: text is not valid Unicode (a lone surrogate)")
        try:
            args = tool.args.model_validate(drop_nulls(tool.args, arguments))
        except ValidationError as exc:
            details = [f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()]
            return _error("invalid_arguments", f"{name}: " + "; ".join(details))
        try:
            return tool.fn(self.recommender, args).model_dump(mode="json")
        except ScenebridgeError as exc:
            return _error("usage", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        except Exception as exc:  # a tool call must never hand a traceback to a model or a client
            return _error("internal", f"{name} failed ({type(exc).__name__}: {str(exc)[:200]})")


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}}


def _lone_surrogate(value: Any, path: str = "") -> str | None:
    """The path of the first text (key or value) in ``value`` holding a lone surrogate, else None."""
    if isinstance(value, str):
        return (path or "arguments") if any("\ud800" <= c <= "\udfff" for c in value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            found = _lone_surrogate(key, sub) or _lone_surrogate(item, sub)
            if found is not None:
                return found
    if isinstance(value, list):
        for n, item in enumerate(value):
            found = _lone_surrogate(item, f"{path}.{n}" if path else str(n))
            if found is not None:
                return found
    return None


def drop_nulls(model: type[BaseModel], arguments: dict[str, Any]) -> dict[str, Any]:
    """Strict-mode callers send null for every optional field; null means "the default" where null is not valid."""
    out = {}
    for key, value in arguments.items():
        field = model.model_fields.get(key)
        if value is None and field is not None and not field.is_required() and not _nullable(field.annotation):
            continue
        out[key] = value
    return out


def _nullable(annotation: Any) -> bool:
    import types
    import typing

    return (typing.get_origin(annotation) in (typing.Union, types.UnionType)
            and type(None) in typing.get_args(annotation))  # fmt: skip
