"""LLM backends behind one protocol: llama.cpp in-process, any OpenAI-compatible server, a scripted fake."""

from scenebridge.errors import LLMError
from scenebridge.llm.fake import ScriptedLLM
from scenebridge.llm.protocol import LLM, Message
from scenebridge.llm.registry import get_llm

__all__ = ["LLM", "LLMError", "Message", "ScriptedLLM", "get_llm"]
