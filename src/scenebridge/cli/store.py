"""Item store commands: ``index`` and ``search``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from scenebridge.cli.options import BatchSizeOpt, EmbedderOpt, StoreOpt, UrlOpt
from scenebridge.errors import UsageError
from scenebridge.settings import StoreSettings, table

if TYPE_CHECKING:
    import pandas as pd

    from scenebridge.store.chroma import ItemStore

__all__ = ["index_cmd", "search_cmd"]


def _store(store: Path | None, url: str | None, embedder: str | None, batch_size: int | None = None) -> ItemStore:
    """Opens the item store from CLI options, falling back on the settings (env vars, config file)."""
    from scenebridge.store import ItemStore, cached_embedder

    given = {"path": store, "url": url, "embedder": embedder, "batch_size": batch_size}
    cfg = table(StoreSettings, **{k: v for k, v in given.items() if v is not None})
    return ItemStore(
        cached_embedder(cfg.embedder, base_url=cfg.embedder_base_url, api_key=cfg.embedder_api_key),
        path=cfg.path,
        url=cfg.url,
        prefix=cfg.collection_prefix,
        batch_size=cfg.batch_size,
    )


def _items(data: Path) -> pd.DataFrame:
    """The items of a canonical dataset folder, or of a catalogue (a folder with items.csv alone, or an items CSV)."""
    if data.is_file() or (data.is_dir() and not (data / "interactions.csv").exists()):
        from scenebridge.script.catalogue import read_items

        return read_items(data)
    from scenebridge.data.format import load_dataset

    return load_dataset(data).items


def index_cmd(
    data: Annotated[
        Path, typer.Argument(help="A canonical dataset folder, or a catalogue: a folder with items.csv, an items CSV.")
    ],
    store: StoreOpt = None,
    url: UrlOpt = None,
    embedder: EmbedderOpt = None,
    prune: Annotated[bool, typer.Option("--prune", help="Delete stored items that are not in DATA.")] = False,
    batch_size: BatchSizeOpt = None,
) -> None:
    """Embed and upsert a dataset's items into the item store (idempotent, resumable)."""
    from scenebridge.progress import RichProgress

    items = _items(data)
    item_store = _store(store, url, embedder, batch_size)
    with RichProgress() as progress:
        report = item_store.index(items, prune=prune, progress=progress.task)
    print(f"{item_store.where}: {report.line()}")


def search_cmd(
    text: Annotated[str, typer.Argument(help="What to look for (any language the embedder knows).")],
    scene: Annotated[list[str] | None, typer.Option("--scene", help="Scene(s) to search (default: all).")] = None,
    k: Annotated[int, typer.Option("-k", help="How many items.")] = 10,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Item ids to leave out.")] = None,
    store: StoreOpt = None,
    url: UrlOpt = None,
    embedder: EmbedderOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Retrieve the items nearest to a text from the item store."""
    import dataclasses
    import json

    if not text.strip():
        msg = "the search text is empty; say what you are looking for"
        raise UsageError(msg)
    hits = _store(store, url, embedder).search_text(text, scenes=scene, k=k, exclude=exclude or ())
    if as_json:
        print(json.dumps([dataclasses.asdict(h) for h in hits], ensure_ascii=False, indent=2))
        return
    for h in hits:
        print(f"{h.score:.3f}  {h.item_id:<12} [{h.scene}] {h.title}")
