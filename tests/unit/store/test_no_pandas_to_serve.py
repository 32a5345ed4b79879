"""Opening a store and asking it is done without pandas (only indexing needs it): a fresh serving process starts
faster by its import."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit


def test_serving_from_a_store_imports_no_pandas(tmp_path):
    from scenebridge.data.format import load_dataset
    from scenebridge.store.chroma import ItemStore
    from scenebridge.store.embed import HashingEmbedder
    from tests.conftest import make_dataset

    ItemStore(HashingEmbedder(64), path=tmp_path / "store").index(load_dataset(make_dataset(tmp_path / "data")).items)
    code = (
        "import sys\n"
        "import scenebridge.build\n"
        "from scenebridge.store.chroma import ItemStore\n"
        "from scenebridge.store.embed import HashingEmbedder\n"
        f"store = ItemStore(HashingEmbedder(64), path={str(tmp_path / 'store')!r})\n"
        "hits = store.search(HashingEmbedder(64).embed(['watercolor'])[0], scenes=store.scenes, k=3)\n"
        "print(len(hits), 'pandas' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["3", "False"], done.stdout
