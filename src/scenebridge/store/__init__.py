"""Item store: text embedders with an on-disk cache, and the Chroma item store (one collection per scene)."""

from scenebridge.store.chroma import Hit, IndexReport, ItemStore, item_texts
from scenebridge.store.embed import (
    EMBEDDERS,
    CachedEmbedder,
    Embedder,
    EmbeddingCache,
    HashingEmbedder,
    UseMultilingualEmbedder,
    cached_embedder,
    get_embedder,
)

__all__ = [
    "EMBEDDERS",
    "CachedEmbedder",
    "Embedder",
    "EmbeddingCache",
    "HashingEmbedder",
    "Hit",
    "IndexReport",
    "ItemStore",
    "UseMultilingualEmbedder",
    "cached_embedder",
    "get_embedder",
    "item_texts",
]
