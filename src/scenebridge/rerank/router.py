"""Several rerankers behind one :class:`~scenebridge.rerank.api.Reranker`: one per target scene, and a default.

A fusion model is trained for one source -> target pair and serves its target scene. A user moving between scenes
(art -> office, then office -> art) is served by passing a model for each; each query goes to the model of its scene,
and a scene no trained model covers goes to the default (the agent's is the untrained content reranker).
"""

from __future__ import annotations

from collections.abc import Sequence

from scenebridge.errors import UsageError
from scenebridge.rerank.api import Candidate, Reranker, RerankQuery, Scored

__all__ = ["SceneRouter", "served_scenes"]


def served_scenes(reranker: Reranker) -> tuple[str, ...] | None:
    """The scenes a reranker says it serves (its ``scenes``, or its one ``scene``); None when it serves any scene."""
    scenes = getattr(reranker, "scenes", None)
    if scenes is not None:
        return tuple(scenes)
    one = getattr(reranker, "scene", None)
    return (one,) if isinstance(one, str) else None


class SceneRouter:
    """Routes each query to the reranker trained for its scene, else to the default.

    Args:
        rerankers: trained rerankers, each saying which scene(s) it serves (a ``scene`` or ``scenes`` attribute);
            all must expect the same embedder's vectors, and no two may serve the same scene.
        default: the reranker for every other scene; without one such a scene is refused.

    Raises:
        UsageError: for no reranker at all, a reranker without a scene, two for one scene, or mixed embedders.
    """

    def __init__(self, rerankers: Sequence[Reranker], default: Reranker | None = None) -> None:
        if not rerankers and default is None:
            msg = "SceneRouter needs at least one trained reranker"
            raise UsageError(msg)
        by_scene: dict[str, Reranker] = {}
        for rr in rerankers:
            served = served_scenes(rr)
            if served is None:
                msg = f"{type(rr).__name__} does not say which scene it serves (no `scene` attribute)"
                raise UsageError(msg)
            for scene in served:
                if scene in by_scene:
                    msg = f"two trained rerankers serve scene {scene!r}; pass one per target scene"
                    raise UsageError(msg)
                by_scene[scene] = rr
        ids = {rr.embedder_id for rr in rerankers}
        if len(ids) > 1:
            msg = f"the rerankers expect different embedders ({', '.join(sorted(ids))}); train them with one embedder"
            raise UsageError(msg)
        self.by_scene = by_scene
        self.default = default
        # The trained models' embedder (the default's only when there are none: it is checked against the store).
        self._embedder_id = ids.pop() if ids else default.embedder_id  # type: ignore[union-attr]

    @classmethod
    def around(cls, reranker: Reranker | None, default: Reranker) -> SceneRouter:
        """``reranker`` for the scenes it serves and ``default`` for the rest; a reranker that names no scene
        serves every scene (it is the default then), and None leaves only the default."""
        if reranker is None or served_scenes(reranker) is None:
            return cls([], default=reranker if reranker is not None else default)
        return cls([reranker], default=default)

    @property
    def embedder_id(self) -> str:
        return self._embedder_id

    @property
    def scenes(self) -> tuple[str, ...]:
        """The scenes trained rerankers serve, sorted."""
        return tuple(sorted(self.by_scene))

    def falls_back(self, scene: str) -> bool:
        """True when trained rerankers are routed to but none covers ``scene`` (the default ranks it)."""
        return bool(self.by_scene) and scene not in self.by_scene and self.default is not None

    def route(self, scene: str) -> Reranker:
        """The reranker of a scene.

        Raises:
            UsageError: when no reranker covers the scene and there is no default.
        """
        found = self.by_scene.get(scene, self.default)
        if found is None:
            msg = f"no trained reranker for scene {scene!r}; these are served: {', '.join(self.scenes)}"
            raise UsageError(msg)
        return found

    def candidates(self, query: RerankQuery, k: int) -> list[str]:
        """The candidates of the reranker of ``query.scene``."""
        return self.route(query.scene).candidates(query, k)

    def rerank(self, query: RerankQuery, candidates: Sequence[Candidate], k: int | None = None) -> list[Scored]:
        """The order of the reranker of ``query.scene``."""
        return self.route(query.scene).rerank(query, candidates, k)

    def clear_cache(self) -> None:
        """Forgets what the routed rerankers keep between calls (benchmarks time calls with nothing shared)."""
        for rr in {id(r): r for r in [*self.by_scene.values(), self.default] if r is not None}.values():
            clear = getattr(rr, "clear_cache", None)
            if callable(clear):
                clear()
