"""The agent: interest parsing (with a lexical fallback), sessions, and the turn."""

from scenebridge.agent.lexical import lexical_parse
from scenebridge.agent.parse import ParseResult, clean_statement, parse_interests
from scenebridge.agent.summary import Constraints, InterestSummary, Topic

__all__ = [
    "Constraints",
    "InterestSummary",
    "ParseResult",
    "Topic",
    "clean_statement",
    "lexical_parse",
    "parse_interests",
]
