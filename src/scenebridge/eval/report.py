"""Human-facing outputs of an evaluation: a Markdown report and PNG plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scenebridge.eval.metrics import KS
from scenebridge.extras import available

__all__ = ["TABLE_COLUMNS", "markdown_table", "write_plots", "write_report"]

TABLE_COLUMNS = (
    "ndcg@10",
    "recall@10",
    "hr@10",
    "mrr@10",
    "ndcg@20",
    "recall@20",
    "ndcg@50",
    "recall@50",
    "coverage@50",
)


def markdown_table(metrics: dict[str, dict[str, float]], columns: tuple[str, ...] = TABLE_COLUMNS) -> str:
    """Methods as rows, best value of each column in bold."""
    methods = list(metrics)
    best = {c: max(metrics[m].get(c, 0.0) for m in methods) for c in columns}
    lines = ["| method | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for m in methods:
        cells = []
        for c in columns:
            v = metrics[m].get(c, 0.0)
            cells.append(f"**{v:.4f}**" if v == best[c] and v > 0 else f"{v:.4f}")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_plots(metrics: dict[str, dict[str, float]], out: Path) -> list[str]:
    """Writes metric bars per method and Recall@K / NDCG@K curves; returns the file names (none without the
    ``plots`` extra: the report is written without them)."""
    if not available("matplotlib"):
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = list(metrics)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    for ax, metric in zip(axes, ("ndcg@10", "recall@10", "recall@50"), strict=True):
        vals = [metrics[m].get(metric, 0.0) for m in methods]
        bars = ax.bar(methods, vals, color=[plt.get_cmap("tab10")(i % 10) for i in range(len(methods))])
        ax.bar_label(bars, fmt="%.3f", fontsize=8)
        ax.set_title(metric)
        ax.tick_params(axis="x", rotation=30)
        ax.set_ylim(0, max([*vals, 1e-9]) * 1.18)
    fig.suptitle("Cold-start cross-scene metrics per method")
    fig.tight_layout()
    fig.savefig(out / "metrics.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, metric in zip(axes, ("recall", "ndcg"), strict=True):
        for m in methods:
            ax.plot(KS, [metrics[m].get(f"{metric}@{k}", 0.0) for k in KS], marker="o", label=m)
        ax.set_xlabel("K")
        ax.set_xticks(KS)
        ax.set_title(f"{metric.upper() if metric == 'ndcg' else 'Recall'}@K")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "recall_at_k.png", dpi=110)
    plt.close(fig)
    return ["metrics.png", "recall_at_k.png"]


def write_report(metrics: dict[str, dict[str, float]], meta: dict[str, Any], plots: list[str], path: Path) -> None:
    """Writes report.md: set-up facts, the full metric table, timings and the plots."""
    timings = meta.get("timings", {})
    lines = [
        f"# {meta['dataset']}: {meta['source']} → {meta['target']} (cold-start cross-scene)",
        "",
        f"- test users: {meta['n_test_users']:,} (hidden {meta['target']} interactions: "
        f"{meta['n_hidden_test_interactions']:,}); valid users: {meta['n_valid_users']:,}",
        f"- ranked: all {meta['n_target_items']:,} items of scene `{meta['target']}`; "
        f"visible training interactions: {meta['n_train_interactions']:,}; seed {meta['seed']}",
        "",
        "## Metrics",
        "",
        markdown_table(metrics),
        "",
        "## All metrics",
        "",
        markdown_table(metrics, tuple(f"{n}@{k}" for n in ("recall", "ndcg", "hr", "mrr") for k in KS)),
        "",
        "## Time (seconds)",
        "",
        "| method | fit | rank |",
        "|---|---|---|",
        *[f"| {m} | {t['fit_s']:.1f} | {t['rank_s']:.1f} |" for m, t in timings.items()],
        "",
        *[f"![{p}]({p})" for p in plots],
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
