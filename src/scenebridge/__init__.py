"""scenebridge: a cross-scene recommender that a chat assistant can plug in."""

from scenebridge.errors import DatasetError, ScenebridgeError, UsageError

__version__ = "0.1.0"

__all__ = ["DatasetError", "ScenebridgeError", "UsageError", "__version__"]
