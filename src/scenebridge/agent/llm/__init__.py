"""LLM backends behind one protocol: llama.cpp in-process, any OpenAI-compatible server, a scripted fake."""

from scenebridge.agent.llm.base import LLM, LLMError, Message, get_llm
from scenebridge.agent.llm.fake import ScriptedLLM

__all__ = ["LLM", "LLMError", "Message", "ScriptedLLM", "get_llm"]
