"""Several trained rerankers behind one :class:`~scenebridge.rerank.api.Reranker`: one per target scene.

A fusion model is trained for one source -> target pair and serves its target scene. A user moving between scenes
(art -> office, then office -> art) is served by passing a model for each; each query goes to the model of its scene.
"""

from __future__ import annotations

from collections.abc import Sequence

from scenebridge.errors import UsageError
from scenebridge.rerank.api import Candidate, Reranker, RerankQuery, Scored

__all__ = ["SceneRouter"]


class SceneRouter:
    """Routes each query to the reranker trained for its scene.

    Args:
        rerankers: trained rerankers, each with a ``scene`` attribute (its target scene); all must expect the same
            embedder's vectors, and no two may serve the same scene.

    Raises:
        UsageError: for an empty list, a reranker without a scene, two for one scene, or mixed embedders.
    """

    def __init__(self, rerankers: Sequence[Reranker]) -> None:
        if not rerankers:
            msg = "SceneRouter needs at least one trained reranker"
            raise UsageError(msg)
        by_scene: dict[str, Reranker] = {}
        for rr in rerankers:
            scene = getattr(rr, "scene", None)
            if not isinstance(scene, str):
                msg = f"{type(rr).__name__} does not say which scene it serves (no `scene` attribute)"
                raise UsageError(msg)
            if scene in by_scene:
                msg = f"two trained rerankers serve scene {scene!r}; pass one per target scene"
                raise UsageError(msg)
            by_scene[scene] = rr
        ids = {rr.embedder_id for rr in rerankers}
        if len(ids) > 1:
            msg = f"the rerankers expect different embedders ({', '.join(sorted(ids))}); train them with one embedder"
            raise UsageError(msg)
        self.by_scene = by_scene
        self._embedder_id = ids.pop()

    @property
    def embedder_id(self) -> str:
        return self._embedder_id

    @property
    def scenes(self) -> tuple[str, ...]:
        """The scenes served, sorted."""
        return tuple(sorted(self.by_scene))

    def _for(self, scene: str) -> Reranker:
        if scene not in self.by_scene:
            msg = f"no trained reranker for scene {scene!r}; these are served: {', '.join(self.scenes)}"
            raise UsageError(msg)
        return self.by_scene[scene]

    def candidates(self, query: RerankQuery, k: int) -> list[str]:
        """The candidates of the reranker of ``query.scene``."""
        return self._for(query.scene).candidates(query, k)

    def rerank(self, query: RerankQuery, candidates: Sequence[Candidate], k: int | None = None) -> list[Scored]:
        """The order of the reranker of ``query.scene``."""
        return self._for(query.scene).rerank(query, candidates, k)
