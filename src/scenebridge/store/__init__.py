"""Item store: text embedders with an on-disk cache (the Chroma store lands with the item-store issue)."""

from scenebridge.store.embed import (
    EMBEDDERS,
    CachedEmbedder,
    Embedder,
    EmbeddingCache,
    HashingEmbedder,
    UseMultilingualEmbedder,
    get_embedder,
)

__all__ = [
    "EMBEDDERS",
    "CachedEmbedder",
    "Embedder",
    "EmbeddingCache",
    "HashingEmbedder",
    "UseMultilingualEmbedder",
    "get_embedder",
]
