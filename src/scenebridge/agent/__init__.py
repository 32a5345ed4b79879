"""The agent: LLM backends, interest parsing (with a lexical fallback), and the turn."""

from scenebridge.agent.fallback import lexical_parse
from scenebridge.agent.llm import LLM, LLMError, ScriptedLLM, get_llm
from scenebridge.agent.parse import ParseResult, clean_statement, parse_interests
from scenebridge.agent.summary import Constraints, InterestSummary, Topic

__all__ = [
    "LLM",
    "Constraints",
    "InterestSummary",
    "LLMError",
    "ParseResult",
    "ScriptedLLM",
    "Topic",
    "clean_statement",
    "get_llm",
    "lexical_parse",
    "parse_interests",
]
