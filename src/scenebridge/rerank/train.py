"""Training the fusion reranker on the cold-start protocol, with simulated cold start for training users.

Training users are split into folds; for each fold their target-scene interactions are hidden from the behaviour
statistics, exactly as a test user's are, and the model learns to find them from the source history (history mode)
or from a short statement derived from it (statement mode). Given a statement linker (the agent's, passed down by a
layer above as a :class:`~scenebridge.rerank.statement.StatementLinker`: rerank never imports the agent), each user
also gives a third list: the statement with what its parts were linked to as a confidence-weighted history beside
it, as a first turn of the agent asks the reranker (no train/serve skew). Valid users (whose target items never
enter training) pick the epoch, the learning rate and the behaviour settings.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from scenebridge.data.format import Dataset, item_texts
from scenebridge.data.split import CrossSceneSplit, cold_start_split
from scenebridge.data.visible import Context
from scenebridge.errors import UsageError
from scenebridge.progress import Progress, SilentProgress
from scenebridge.rerank.behaviour import Behaviour, history_matrix
from scenebridge.rerank.checkpoint import save_checkpoint
from scenebridge.rerank.config import TrainConfig, TrainReport
from scenebridge.rerank.examples import Examples
from scenebridge.rerank.features import FEATURES, Batch, UserQuery, build_batch
from scenebridge.rerank.resume import RESUME_FILE, fingerprint, load_state, save_state
from scenebridge.rerank.statement import StatementLinker, derive_parts, linked_query, statement_vectors
from scenebridge.store.embed import cached_embedder

if TYPE_CHECKING:
    import pandas as pd
    import torch

    from scenebridge.rerank.model import FusionNet

__all__ = ["TrainConfig", "TrainReport", "train"]

# What an interrupted run's report carries over (the rest is measured again or set from the data).
_RESUMED = ("history", "valid_ndcg", "valid_ndcg_statement", "valid_ndcg_statement_linked", "best_epoch",
            "learning_rate")  # fmt: skip


def item_vectors(items: pd.DataFrame, embedder: str, progress: Progress) -> np.ndarray:
    """Unit content vectors of the whole catalogue (cached on disk by the embedder cache)."""

    texts = item_texts(items)
    advance = progress.task("embedding the catalogue", len(texts))
    vecs = cached_embedder(embedder).embed(texts, progress=advance).astype(np.float32)
    return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9)


def _hide_targets(X: sp.csr_matrix, rows: np.ndarray, is_tgt: np.ndarray) -> sp.csr_matrix:
    coo = X.tocoo()
    hidden = np.zeros(X.shape[0], dtype=bool)
    hidden[rows] = True
    keep = ~(hidden[coo.row] & is_tgt[coo.col])
    return sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=X.shape)


def _ndcg10(scores: np.ndarray, cands: np.ndarray, mask: np.ndarray, positives: list[np.ndarray]) -> float:
    out = []
    discounts = 1.0 / np.log2(np.arange(2, 12))
    for i, pos in enumerate(positives):
        s = np.where(mask[i], scores[i], -np.inf)
        top = cands[i][np.argsort(-s, kind="stable")[:10]]
        gains = np.isin(top, pos).astype(np.float64)
        ideal = discounts[: min(10, len(pos))].sum()
        out.append(float((gains * discounts[: len(gains)]).sum() / ideal) if ideal else 0.0)
    return float(np.mean(out)) if out else 0.0


class _Problem:
    """Everything training reads, built once from the split."""

    def __init__(
        self, split: CrossSceneSplit, cfg: TrainConfig, progress: Progress, link: StatementLinker | None = None
    ) -> None:
        self.split, self.cfg, self.progress, self.link = split, cfg, progress, link
        self.ctx = Context.build(split, seed=cfg.seed)
        self.X = self.ctx.X.tocsr()
        self.tgt = self.ctx.tgt_cols
        self.is_tgt = np.zeros(self.X.shape[1], dtype=bool)
        self.is_tgt[self.tgt] = True
        self.tpos = np.full(self.X.shape[1], -1, dtype=np.int64)
        self.tpos[self.tgt] = np.arange(len(self.tgt))
        self.vecs = item_vectors(split.items, cfg.embedder, progress)
        self.titles = dict(zip(split.items["item_id"], split.items["title"].astype(str), strict=True))
        self._targets = set(self.tgt.tolist())
        self._links: dict[tuple[str, ...], list[tuple[str, float]]] = {}

    def statements(self, histories: list[list[str]]) -> np.ndarray:
        return statement_vectors(histories, self.titles, self.cfg.embedder)

    def linked(self, histories: list[list[str]], vectors: np.ndarray) -> list[UserQuery]:
        """Each derived statement with its linked parts as a weighted history (each history linked once, however
        many folds ask)."""
        assert self.link is not None
        out = []
        for history, vector in zip(histories, vectors, strict=True):
            parts = tuple(derive_parts(history, self.titles))
            if parts not in self._links:
                self._links[parts] = self.link(list(parts)) if parts else []
            out.append(linked_query(self._links[parts], self.ctx.item_index, self._targets, vector))
        return out

    def valid(self, behaviour: Behaviour) -> tuple[Batch, Batch, Batch | None, list[np.ndarray]]:
        """The valid users' history, statement and (with a linker) linked statement lists, and their positives."""
        users = self.split.valid_users
        hist = [self.ctx.history_cols(u) for u in users]
        names = [self.split.history(u) for u in users]
        stmt = self.statements(names)
        pos = [self.tpos[[self.ctx.item_index[t] for t in self.split.valid_truth[u]]] for u in users]
        hb = build_batch([UserQuery(history=h) for h in hist], behaviour, self.vecs, self.cfg.depth)
        sb = build_batch([UserQuery(interest=v) for v in stmt], behaviour, self.vecs, self.cfg.depth)
        lb = build_batch(self.linked(names, stmt), behaviour, self.vecs, self.cfg.depth) if self.link else None
        return hb, sb, lb, pos

    def choose_behaviour(self) -> Behaviour:
        """Co-occurrence shrinkage and neighbour count, each chosen by its own valid NDCG@10."""
        users = self.split.valid_users
        H = history_matrix([self.ctx.history_cols(u) for u in users], self.X.shape[1])
        pos = [self.tpos[[self.ctx.item_index[t] for t in self.split.valid_truth[u]]] for u in users]
        all_c = np.tile(np.arange(len(self.tgt)), (len(users), 1))
        mask = np.ones(all_c.shape, dtype=bool)
        best_s = max(
            self.cfg.shrinks, key=lambda s: _ndcg10(Behaviour.fit(self.X, self.tgt, shrink=s).knn(H), all_c, mask, pos)
        )
        base = Behaviour.fit(self.X, self.tgt, shrink=best_s)

        def users_ndcg(k: int) -> float:
            base.n_neighbours = k
            return _ndcg10(base.users(H), all_c, mask, pos)

        base.n_neighbours = max(self.cfg.neighbours, key=users_ndcg)
        self.progress.note(f"fusion: behaviour shrink={best_s:g}, neighbours={base.n_neighbours}")
        return base

    def examples(self, shrink: float, n_neighbours: int) -> Examples:
        """Simulated cold-start lists for training users, fold by fold, in both user modes."""
        ex = Examples()
        Xt = self.X[:, self.tgt]
        active = np.flatnonzero(np.asarray(Xt.sum(axis=1)).ravel() > 0)
        rng = np.random.default_rng(self.cfg.seed)
        fold = rng.integers(0, self.cfg.folds, len(active))
        inv_users = {r: u for u, r in self.ctx.user_index.items()}
        advance = self.progress.task("fusion: simulated cold-start lists", len(active))
        for k in range(self.cfg.folds):
            rows = active[fold == k]
            behaviour = Behaviour.fit(_hide_targets(self.X, rows, self.is_tgt), self.tgt, shrink, n_neighbours)
            for start in range(0, len(rows), 256):
                chunk = rows[start : start + 256]
                hist, pos, names = [], [], []
                for r in chunk:
                    cols = self.X[r].indices
                    source = self.ctx.history_cols(inv_users[r])
                    # No source-scene history: the user's own items in the other scenes stand in for it.
                    hist.append(source if len(source) else cols[~self.is_tgt[cols]].astype(np.int64))
                    pos.append(self.tpos[cols[self.is_tgt[cols]]])
                    names.append(self.split.history(inv_users[r]))
                ex.add(build_batch([UserQuery(history=h) for h in hist], behaviour, self.vecs, self.cfg.depth), pos)
                stmt = self.statements(names)
                ex.add(build_batch([UserQuery(interest=v) for v in stmt], behaviour, self.vecs, self.cfg.depth), pos)
                if self.link is not None:
                    ex.add(build_batch(self.linked(names, stmt), behaviour, self.vecs, self.cfg.depth), pos)
                advance(len(chunk))
        return ex


def train(
    ds: Dataset,
    source: str,
    target: str,
    out: str | Path,
    config: TrainConfig | None = None,
    progress: Progress | None = None,
    link: StatementLinker | None = None,
) -> TrainReport:
    """Trains a fusion reranker for ``source`` -> ``target`` and writes its checkpoint to ``out``.

    An interrupted run resumes after its last finished epoch when started again with the same data, scenes and
    settings (see :mod:`scenebridge.rerank.resume`); the result is the one an uninterrupted run gives.

    Args:
        ds: the dataset.
        source: the scene whose history users bring.
        target: the scene to recommend in.
        out: the checkpoint folder.
        config: training settings (defaults: :class:`TrainConfig`).
        progress: where progress goes (silent by default).
        link: links a derived statement's parts to items, as the agent links what a person says (e.g.
            ``bench.conversation_measures.agent_statement_linker``); given, training also learns from each user's
            statement beside its linked, confidence-weighted history, and valid users are scored that way too
            (``valid_ndcg_statement_linked``). A resume needs the same linker: only whether one was given is checked.

    Raises:
        UsageError: for an unknown scene, or a dataset without valid users to select the model on.
    """
    import torch

    from scenebridge.rerank.model import score_lists

    cfg = config or TrainConfig()
    out = Path(out)
    progress = progress or SilentProgress()
    t_start = time.perf_counter()
    split = cold_start_split(ds, source, target, seed=cfg.seed)
    if not split.valid_users:
        msg = "the dataset has no valid users with items in both scenes; users.csv needs a 'valid' split to select on"
        raise UsageError(msg)
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(max(1, min(4, torch.get_num_threads())))
    stages: dict[str, float] = {}
    mark = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        stages[stage] = round(now - mark, 1)
        mark = now

    prob = _Problem(split, cfg, progress, link)
    lap("embed")
    behaviour = prob.choose_behaviour()
    lap("behaviour")
    ex = prob.examples(behaviour.shrink, behaviour.n_neighbours)
    vh, vs, vl, vpos = prob.valid(behaviour)
    lap("features")
    feats = np.concatenate(ex.feats)
    mean, std = feats.mean(axis=0), feats.std(axis=0) + 1e-6
    T = torch.from_numpy(prob.vecs[prob.tgt])
    report = TrainReport(train_users=len(ex.labels), shrink=behaviour.shrink, n_neighbours=behaviour.n_neighbours,
                         statement_linked=link is not None)  # fmt: skip
    key = fingerprint(ds, source, target, cfg, linked=link is not None)
    saved, why = load_state(out, key)
    if why:
        progress.note(why)
    best_state: dict[str, torch.Tensor] | None = saved["best_state"] if saved else None
    best = saved["best"] if saved else -1.0
    if saved:
        for name, value in saved["report"].items():
            setattr(report, name, value)
        report.resumed_epochs = len(report.history)
        progress.note(f"resuming: {report.resumed_epochs} epoch(s) already done (saved in {out / RESUME_FILE})")
    for li, lr in enumerate(cfg.learning_rates):
        if saved and li < saved["lr_index"]:
            continue
        torch.manual_seed(cfg.seed)
        model = _new_model(cfg, prob.vecs.shape, len(prob.tgt))
        model.feat_mean.copy_(torch.from_numpy(mean))
        model.feat_std.copy_(torch.from_numpy(std))
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=cfg.weight_decay)
        rng = np.random.default_rng(cfg.seed)
        stale, first = 0, 0
        if saved and li == saved["lr_index"]:
            if saved["lr_done"]:
                continue
            model.load_state_dict(saved["model"])
            opt.load_state_dict(saved["optimizer"])
            rng.bit_generator.state = saved["numpy_rng"]
            torch.set_rng_state(saved["torch_rng"])
            stale, first = saved["stale"], saved["epoch"]
        for epoch in range(first, cfg.epochs):
            loss = _epoch(model, opt, ex, T, cfg.batch_users, rng, progress, f"fusion: lr {lr:g} epoch {epoch + 1}")
            val_h = _ndcg10(score_lists(model, vh, T), vh.cands, vh.mask, vpos)
            val_s = _ndcg10(score_lists(model, vs, T), vs.cands, vs.mask, vpos)
            val_l = _ndcg10(score_lists(model, vl, T), vl.cands, vl.mask, vpos) if vl is not None else None
            row = {"lr": lr, "epoch": epoch + 1, "loss": loss, "valid_ndcg": val_h, "valid_ndcg_statement": val_s}
            report.history.append(row if val_l is None else {**row, "valid_ndcg_statement_linked": val_l})
            if val_h > best:
                best, stale = val_h, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                report.valid_ndcg, report.valid_ndcg_statement = val_h, val_s
                report.valid_ndcg_statement_linked = val_l
                report.best_epoch, report.learning_rate = epoch + 1, lr
            else:
                stale += 1
            done = stale >= cfg.patience or epoch + 1 == cfg.epochs
            save_state(out, {
                "fingerprint": key, "lr_index": li, "epoch": epoch + 1, "lr_done": done, "stale": stale,
                "model": model.state_dict(), "optimizer": opt.state_dict(), "numpy_rng": rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(), "best": best, "best_state": best_state,
                "report": {name: getattr(report, name) for name in _RESUMED},
            })  # fmt: skip
            linked_note = f", linked {val_l:.4f}" if val_l is not None else ""
            progress.note(
                f"fusion: lr {lr:g} epoch {epoch + 1}: loss {loss:.4f}, valid ndcg@10 {val_h:.4f} "
                f"(statement {val_s:.4f}{linked_note})"
            )
            if done:
                break
    model = _new_model(cfg, prob.vecs.shape, len(prob.tgt))
    if best_state is not None:  # None only if no epoch ran, which the config forbids (epochs >= 1)
        model.load_state_dict(best_state)
    lap("fit")
    report.stage_seconds = stages
    report.seconds = time.perf_counter() - t_start
    save_checkpoint(out, model, cfg, behaviour, prob.vecs, split, report)
    (Path(out) / RESUME_FILE).unlink(missing_ok=True)
    return report


def _new_model(cfg: TrainConfig, vec_shape: tuple[int, ...], n_targets: int) -> FusionNet:
    from scenebridge.rerank.model import FusionNet

    return FusionNet(
        len(FEATURES),
        vec_shape[1],
        1,
        cfg.cross_dim,
        cfg.hidden,
        n_items=vec_shape[0],
        n_targets=n_targets,
        id_dim=cfg.id_dim,
    )


def _epoch(
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    ex: Examples,
    T: torch.Tensor,
    batch: int,
    rng: np.random.Generator,
    progress: Progress,
    label: str,
) -> float:
    import torch

    from scenebridge.rerank.model import id_inputs

    model.train()
    order = rng.permutation(len(ex.labels))
    total, n = 0.0, 0
    advance = progress.task(label, len(order))
    for start in range(0, len(order), batch):
        idx = order[start : start + batch]
        width = max(len(ex.cands[j]) for j in idx)
        C = np.zeros((len(idx), width), dtype=np.int64)
        F = np.zeros((len(idx), width, len(FEATURES)), dtype=np.float32)
        Y = np.zeros((len(idx), width), dtype=np.float32)
        M = np.zeros((len(idx), width), dtype=bool)
        for i, j in enumerate(idx):
            w = len(ex.cands[j])
            C[i, :w], F[i, :w], Y[i, :w], M[i, :w] = ex.cands[j], ex.feats[j], ex.labels[j], True
        Q = torch.from_numpy(np.stack([ex.query[j] for j in idx]))
        uniq, inv = torch.unique(torch.from_numpy(C), return_inverse=True)
        ids = id_inputs([ex.histories[j] for j in idx], np.where(M, C, -1))
        scores = model(torch.from_numpy(F), Q, T[uniq], inv, torch.zeros(len(idx), dtype=torch.long), ids,
                       id_weights=ex.id_weights(idx))  # fmt: skip
        scores = scores.masked_fill(~torch.from_numpy(M), -1e9)
        # Listwise softmax over the user's candidates, averaged over their positives: it optimises the order
        # inside the list that is actually ranked, and needs no negative sampling (the other candidates are the
        # hard negatives).
        y = torch.from_numpy(Y)
        loss = -((torch.log_softmax(scores, dim=1) * y).sum(1) / y.sum(1)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += float(loss.detach()) * len(idx)
        n += len(idx)
        advance(len(idx))
    return total / max(n, 1)
