"""The fusion reranker: features, the PyTorch model, training, checkpoints, and the reranking contract."""

from scenebridge.rerank.api import Candidate, Evidence, Reranker, RerankQuery, Scored

__all__ = ["Candidate", "Evidence", "RerankQuery", "Reranker", "Scored"]
