"""Plugins: one registry shape for LLM backends, embedders, rerankers and tools, filled through pluggy hooks.

The built-ins register exactly as a third party does (like simonw/llm's ``DEFAULT_PLUGINS``): each module named in
:data:`DEFAULT_PLUGINS` and each installed entry point of the group ``scenebridge.plugins`` may implement the hooks of
:class:`Hookspecs`. A plugin package declares itself in its ``pyproject.toml``::

    [project.entry-points."scenebridge.plugins"]
    demo = "scenebridge_demo"

and its module implements the hooks it needs::

    from scenebridge.plugins import hookimpl

    @hookimpl
    def register_embedders(register):
        register("demo-embed", DemoEmbedder, help="demo-embed[:DIM], deterministic")

Loading is lazy: nothing is imported until a registry is first used, so ``scenebridge --help`` does not pay for it. A
plugin that fails to load or to register gives one :class:`~scenebridge.errors.UsageError` naming it.

This module is a leaf: it imports nothing of scenebridge but the errors; the built-in plugin modules are named, not
imported, here.
"""

from __future__ import annotations

import importlib
import inspect
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Generic, TypeVar

import pluggy

from scenebridge.errors import UsageError

__all__ = [
    "DEFAULT_PLUGINS",
    "GROUP",
    "PLUGINS",
    "Entry",
    "Hookspecs",
    "Plugins",
    "Register",
    "Registry",
    "hookimpl",
    "hookspec",
]

PROJECT = "scenebridge"
GROUP = "scenebridge.plugins"
"""The entry-point group third-party plugins declare."""

DEFAULT_PLUGINS: tuple[str, ...] = (
    "scenebridge.llm.registry",
    "scenebridge.store.embed",
    "scenebridge.rerank.registry",
    "scenebridge.tools.registry",
)
"""The built-in plugin modules, registered before any third-party one (so built-in names come first)."""

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

T = TypeVar("T")
Register = Callable[..., None]
"""``register(name, factory, *, help="")``: what every hook receives."""


class Hookspecs:
    """The hooks a plugin may implement. Each receives ``register(name, factory, *, help="")``.

    A factory is called with the caller's options as keywords, and with the spec's argument as ``arg`` for
    ``NAME:ARG`` (a factory without an ``arg`` parameter takes none: ``NAME:ARG`` is refused). Accept ``**options``
    so that options meant for other backends do no harm.
    """

    @hookspec
    def register_llms(self, register: Register) -> None:
        """LLM backends for ``--llm NAME`` or ``--llm NAME:ARG``: the factory returns an object with ``name`` and
        ``complete(messages, schema=None, max_tokens=512) -> str`` (:class:`scenebridge.llm.LLM`)."""

    @hookspec
    def register_embedders(self, register: Register) -> None:
        """Embedders for ``--embedder NAME[:ARG]``: the factory returns an object with ``model_id``, ``dim`` and
        ``embed(texts) -> float32 array`` (:class:`scenebridge.store.Embedder`); ``model_id`` names the vectors in a
        store, so keep it stable."""

    @hookspec
    def register_rerankers(self, register: Register) -> None:
        """Rerankers: the factory receives ``store=`` (the item store) and returns a
        :class:`scenebridge.rerank.Reranker`."""

    @hookspec
    def register_tools(self, register: Register) -> None:
        """Agent tools: the factory takes no argument and returns a :class:`scenebridge.tools.Tool`."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _entry_points(group: str) -> list[tuple[str, str]]:
    """(entry-point name, distribution name) of the installed plugins, first seen first."""
    seen: dict[str, str] = {}
    for ep in metadata.entry_points(group=group):
        dist = getattr(ep, "dist", None)
        seen.setdefault(ep.name, dist.name if dist is not None else ep.value)
    return list(seen.items())


def _load_entry_points(pm: pluggy.PluginManager, group: str) -> None:
    for name, dist in _entry_points(group):
        # One entry point at a time: pluggy's loader raises the plugin's own error without saying whose it is.
        try:
            pm.load_setuptools_entrypoints(group, name=name)
            pm.check_pending()  # a hook name that is not ours (a typo) is refused now, not ignored
        except Exception as exc:
            raise broken_plugin(name, dist, exc) from None


class Plugins:
    """The plugin manager: the built-in modules, then the installed entry points, loaded on first use.

    Args:
        defaults: built-in plugin modules (imported and registered first).
        group: the entry-point group of third-party plugins; None loads none (tests).
    """

    def __init__(self, defaults: Sequence[str] = DEFAULT_PLUGINS, group: str | None = GROUP) -> None:
        self.defaults = tuple(defaults)
        self.group = group
        self.generation = 0
        self._pm: pluggy.PluginManager | None = None
        self._extra: dict[str, object] = {}
        self._lock = threading.RLock()
        self._loading = False

    @property
    def manager(self) -> pluggy.PluginManager:
        """The loaded plugin manager.

        Raises:
            UsageError: naming a third-party plugin that cannot be imported or does not fit the hooks.
        """
        with self._lock:
            if self._pm is None:
                if self._loading:
                    msg = "a plugin module used a registry while the plugins were loading"
                    raise RuntimeError(msg)
                self._loading = True
                try:
                    self._pm = self._load()
                finally:
                    self._loading = False
                self.generation += 1
            return self._pm

    def _load(self) -> pluggy.PluginManager:
        # A fresh manager each attempt: a failed load leaves nothing half registered, and the next use reports again.
        pm = pluggy.PluginManager(PROJECT)
        pm.add_hookspecs(Hookspecs)
        for module in self.defaults:
            pm.register(importlib.import_module(module), name=module)
        if self.group:
            _load_entry_points(pm, self.group)
        for name, plugin in self._extra.items():
            pm.register(plugin, name=name)
        return pm

    def register(self, plugin: object, name: str) -> None:
        """Adds a plugin at run time (a test double, an application embedding scenebridge); registries reload."""
        with self._lock:
            if self._pm is not None:
                self._pm.register(plugin, name=name)
            self._extra[name] = plugin
            self.generation += 1

    def unregister(self, name: str) -> None:
        """Removes a plugin added with :meth:`register`."""
        with self._lock:
            self._extra.pop(name)
            if self._pm is not None:
                self._pm.unregister(name=name)
            self.generation += 1

    def names(self) -> list[str]:
        """The loaded plugins, built-ins first."""
        return [name for name, _ in self.manager.list_name_plugin()]

    def is_builtin(self, name: str) -> bool:
        return name in self.defaults


def broken_plugin(name: str, dist: str | None, exc: BaseException) -> UsageError:
    """The one-line error for a third-party plugin that fails."""
    package = f" (package {dist})" if dist and dist != name else ""
    msg = f"the scenebridge plugin {name!r}{package} is broken ({_first_line(exc)}); fix or uninstall it"
    return UsageError(msg)


class _Clash(UsageError):
    """Two registrations of one name, or a bad name: already worded with the plugin's name."""


def _dist_of(pm: pluggy.PluginManager, name: str) -> str | None:
    for plugin, dist in pm.list_plugin_distinfo():
        if pm.get_name(plugin) == name:
            return str(dist.project_name)
    return None


PLUGINS = Plugins()
"""The process's plugins (every registry reads these unless given others)."""


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered name: its factory, a line of help, and the plugin that registered it."""

    name: str
    factory: Callable[..., T]
    help: str
    plugin: str


def _takes_arg(factory: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return True  # cannot tell (a builtin): let the call decide
    return any(p.name == "arg" and p.kind is not inspect.Parameter.VAR_POSITIONAL for p in params)


class Registry(Generic[T]):
    """Names -> factories of one kind (LLM backend, embedder, reranker, tool), filled by one hook of every plugin.

    Args:
        kind: what the names name, for messages (``"embedder"``).
        hook: the :class:`Hookspecs` hook that fills it (``"register_embedders"``).
        plugins: where the hooks come from (:data:`PLUGINS` by default).
        unknown: builds the message for an unknown spec from the spec and the entries (default: ``unknown KIND
            'x'; choose one of: a, b``).
    """

    def __init__(
        self,
        kind: str,
        hook: str,
        *,
        plugins: Plugins | None = None,
        unknown: Callable[[str, Sequence[Entry[Any]]], str] | None = None,
    ) -> None:
        if not hasattr(Hookspecs, hook):
            msg = f"no hook named {hook!r}"
            raise ValueError(msg)
        self.kind = kind
        self.hook = hook
        self._plugins = plugins
        self._unknown = unknown
        self._manual: dict[str, Entry[T]] = {}
        self._entries: dict[str, Entry[T]] = {}
        self._generation = -1
        self._lock = threading.RLock()

    @property
    def plugins(self) -> Plugins:
        return self._plugins or PLUGINS

    def register(self, name: str, factory: Callable[..., T], *, help: str = "") -> None:
        """Registers a name directly (outside a plugin); it lasts for the life of the process."""
        with self._lock:
            self._add(self._manual, Entry(name, factory, help, "<direct>"))
            self._generation = -1

    def _add(self, into: dict[str, Entry[T]], entry: Entry[T]) -> None:
        if not entry.name or ":" in entry.name:
            msg = f"the scenebridge plugin {entry.plugin!r} registers a bad {self.kind} name {entry.name!r}"
            raise _Clash(msg)
        if entry.name in into:
            msg = (
                f"the scenebridge plugin {entry.plugin!r} registers {self.kind} {entry.name!r}, which "
                f"{into[entry.name].plugin!r} already registered; uninstall one of them"
            )
            raise _Clash(msg)
        into[entry.name] = entry

    def _current(self) -> dict[str, Entry[T]]:
        with self._lock:
            pm = self.plugins.manager
            if self._generation != self.plugins.generation:
                self._entries = self._collect(pm)
                self._generation = self.plugins.generation
            return self._entries

    def _collect(self, pm: pluggy.PluginManager) -> dict[str, Entry[T]]:
        entries: dict[str, Entry[T]] = {}
        # Each implementation on its own, in registration order (built-ins first), so an error names its plugin.
        for impl in getattr(pm.hook, self.hook).get_hookimpls():
            plugin = impl.plugin_name

            def register(name: str, factory: Callable[..., T], *, help: str = "", _plugin: str = plugin) -> None:
                self._add(entries, Entry(name, factory, help, _plugin))

            try:
                impl.function(**{arg: register for arg in impl.argnames})
            except _Clash:
                raise
            except Exception as exc:
                if self.plugins.is_builtin(plugin):
                    raise
                raise broken_plugin(plugin, _dist_of(pm, plugin), exc) from None
        for entry in self._manual.values():
            self._add(entries, entry)
        return entries

    def entries(self) -> list[Entry[T]]:
        """Every registered name, built-ins first."""
        return list(self._current().values())

    def names(self) -> list[str]:
        return list(self._current())

    def __contains__(self, name: object) -> bool:
        return name in self._current()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._current())

    def unknown(self, spec: str) -> UsageError:
        """The error for a spec that names nothing registered; it lists the valid names."""
        entries = self.entries()
        if self._unknown is not None:
            return UsageError(self._unknown(spec, entries))
        return UsageError(f"unknown {self.kind} {spec!r}; choose one of: {', '.join(e.name for e in entries)}")

    def entry(self, name: str, *, spec: str | None = None) -> Entry[T]:
        """The entry of a name.

        Raises:
            UsageError: for an unknown name, listing the valid ones.
        """
        found = self._current().get(name)
        if found is None:
            raise self.unknown(spec if spec is not None else name)
        return found

    def get(self, name: str, **options: Any) -> T:
        """Builds ``name`` with ``options``.

        Raises:
            UsageError: for an unknown name, listing the valid ones.
        """
        return self.entry(name).factory(**options)

    def create(self, spec: str, **options: Any) -> T:
        """Builds a spec ``NAME`` or ``NAME:ARG`` (the factory receives ``arg=ARG``) with ``options``.

        Raises:
            UsageError: for an unknown name (listing the valid ones), or an argument to a factory that takes none.
        """
        name, _, arg = spec.partition(":")
        entry = self.entry(name, spec=spec)
        if not arg:
            return entry.factory(**options)
        if not _takes_arg(entry.factory):
            msg = f"{self.kind} {name!r} takes no argument; give {name!r}, not {spec!r}"
            raise UsageError(msg)
        return entry.factory(arg=arg, **options)
