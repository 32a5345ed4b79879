"""Training settings and what training reports: shared by the trainer, its checkpoints and its resume state."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, Field

__all__ = ["TrainConfig", "TrainReport"]


class TrainConfig(BaseModel):
    """Training settings; the defaults are what the README's numbers used."""

    depth: int = Field(150, ge=10, description="Top items per signal that become candidates.")
    folds: int = Field(4, ge=2, description="Simulated cold-start folds over training users.")
    epochs: int = Field(12, ge=1)
    patience: int = Field(2, ge=1, description="Epochs without a better valid NDCG@10 before stopping.")
    learning_rates: tuple[float, ...] = (1e-3,)
    batch_users: int = Field(64, ge=1)
    cross_dim: int = Field(32, ge=1)
    hidden: int = Field(64, ge=1)
    id_dim: int = Field(32, ge=0, description="Size of the learned item-id embeddings (0: content and features only).")
    weight_decay: float = Field(1e-5, ge=0)
    shrinks: tuple[float, ...] = (10.0, 100.0, 1000.0)
    neighbours: tuple[int, ...] = (100, 300, 1000)
    seed: int = 0
    embedder: str = "use-multilingual"


@dataclass
class TrainReport:
    """What training chose and measured."""

    valid_ndcg: float = 0.0
    valid_ndcg_statement: float = 0.0
    valid_ndcg_statement_linked: float | None = None
    """Statement mode through the linking path (a linked, confidence-weighted history beside the statement), at the
    chosen epoch; ``None`` when training was given no linker."""
    statement_linked: bool = False
    """Whether training saw the linked statement lists beside the history-only and statement-only ones."""
    best_epoch: int = 0
    learning_rate: float = 0.0
    shrink: float = 0.0
    n_neighbours: int = 0
    train_users: int = 0
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    resumed_epochs: int = 0
    """Epochs restored from an interrupted run's saved state instead of trained again."""
