"""The item store as a LangChain retriever."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from scenebridge.extras import missing
from scenebridge.store.chroma import ItemStore

try:
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever
except ModuleNotFoundError as exc:  # one line naming the extra, not a traceback
    if exc.name is None or not exc.name.startswith("langchain_core"):
        raise
    raise missing("langchain", "the LangChain retriever (langchain-core)") from None

__all__ = ["ItemRetriever"]


class ItemRetriever(BaseRetriever):
    """Retrieves catalogue items for a free-text query; each Document's id is the item id.

    Args:
        store: an :class:`ItemStore`.
        scenes: scenes to search (all when empty).
        k: how many items (``invoke(query, k=3)`` overrides it per call).
        exclude: item ids never returned.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: ItemStore
    scenes: list[str] = Field(default_factory=list)
    k: int = 10
    exclude: list[str] = Field(default_factory=list)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        k = int(kwargs.get("k", self.k))
        scenes = kwargs.get("scenes", self.scenes) or None
        exclude = [*self.exclude, *kwargs.get("exclude", [])]
        hits = self.store.search_text(query, scenes=scenes, k=k, exclude=exclude)
        return [
            Document(
                id=h.item_id,
                page_content=f"{h.title} ({h.category})" if h.category else h.title,
                metadata={
                    "item_id": h.item_id,
                    "scene": h.scene,
                    "score": h.score,
                    "title": h.title,
                    "category": h.category,
                },
            )
            for h in hits
        ]
