"""LangChain's standard retriever tests against the item store (real embedded Chroma, hashing embeddings)."""

import pytest
from langchain_core.retrievers import BaseRetriever
from langchain_tests.integration_tests import RetrieversIntegrationTests

from scenebridge.store import HashingEmbedder, ItemStore
from scenebridge.store.langchain import ItemRetriever

from .test_store import ITEMS

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = ItemStore(HashingEmbedder(64), path=tmp_path_factory.mktemp("lc") / "store")
    s.index(ITEMS)
    return s


class TestItemRetrieverStandard(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _store(self, store):
        self._the_store = store

    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return ItemRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"store": self._the_store}

    @property
    def retriever_query_example(self) -> str:
        return "paint brushes"


def test_documents_carry_item_facts(store):
    docs = ItemRetriever(store=store, scenes=["art"], k=2, exclude=["a1"]).invoke("paint brushes")
    assert docs[0].id == "a2"
    assert "a1" not in {d.id for d in docs}
    assert docs[0].metadata["scene"] == "art"
    assert docs[0].page_content == "sable paint brushes (painting)"
