"""The one progress protocol the library reports through, a silent one, and rich bars for the CLI (rich loads
only when bars are drawn)."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["Progress", "RichProgress", "SilentProgress"]


class Progress(Protocol):
    """How long-running steps report progress (the CLI draws rich bars; tests stay silent)."""

    def task(self, description: str, total: int) -> Callable[[int], None]: ...

    def note(self, message: str) -> None: ...


class SilentProgress:
    """A :class:`Progress` that shows nothing."""

    def task(self, description: str, total: int) -> Callable[[int], None]:
        return lambda n: None

    def note(self, message: str) -> None:
        return None


class RichProgress:
    """A context manager that draws one bar per task on stderr."""

    def __init__(self, console: Console | None = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bars

        self.console = console or Console(stderr=True)
        self._bars: Any = Bars(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
        )

    def __enter__(self) -> RichProgress:
        self._bars.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._bars.stop()

    def task(self, description: str, total: int) -> Callable[[int], None]:
        task_id = self._bars.add_task(description, total=total)
        return lambda n: self._bars.advance(task_id, n)

    def note(self, message: str) -> None:
        self._bars.console.print(f"[dim]{message}[/dim]")
