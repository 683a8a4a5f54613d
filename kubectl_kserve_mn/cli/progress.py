"""The progress line for long reads of the cluster (on terminals only, on stderr only).

When listing takes more than about a second, one line on stderr says what is being listed and how many
items have arrived, rewritten in place (``\\r``, padded with spaces: no terminal escape codes), and
cleared when the lists end. Nothing is drawn when stdout or stderr is not a terminal, or for
``-o json|yaml``; warnings clear the line before they are printed.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO

DELAY = 1.0
"""Seconds of reading before the line appears."""
INTERVAL = 0.2

_current: TerminalProgress | None = None


def for_terminal(*, machine_output: bool) -> TerminalProgress | None:
    """A progress line when both stdout and stderr are terminals and the output is for people."""
    if machine_output or os.environ.get("TERM") == "dumb":
        return None
    try:
        if not (sys.stdout.isatty() and sys.stderr.isatty()):
            return None
    except (AttributeError, ValueError, OSError):
        return None
    return TerminalProgress(sys.stderr)


def clear_line() -> None:
    """Clear the progress line (if one is drawn) so that a message can be printed."""
    if _current is not None:
        _current.clear()


class TerminalProgress:
    """Implements :class:`kubectl_kserve_mn.cluster.Progress` on a terminal stream."""

    def __init__(self, stream: TextIO, *, delay: float = DELAY, interval: float = INTERVAL) -> None:
        global _current
        self._stream = stream
        self._delay = delay
        self._interval = interval
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._active: set[str] = set()
        self._since: float | None = None
        self._paused = False
        self._drawn = 0
        self._shown = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        _current = self

    # -- the observer (called from the fetching threads) ------------------------------------------------

    def started(self, what: str) -> None:
        with self._lock:
            if not self._active:
                self._since = time.monotonic()
                self._counts = {}
            self._active.add(what)
            self._counts.setdefault(what, 0)
            if self._thread is None:
                self._thread = threading.Thread(target=self._tick, name="kserve-mn-progress", daemon=True)
                self._thread.start()

    def advanced(self, what: str, items: int) -> None:
        with self._lock:
            self._counts[what] = items

    def finished(self, what: str) -> None:
        with self._lock:
            self._active.discard(what)
            if not self._active:
                self._since = None
                self._erase()

    def pause(self, paused: bool) -> None:
        with self._lock:
            self._paused = paused
            if paused:
                self._erase()

    # -- drawing ------------------------------------------------------------------------------------------

    def clear(self) -> None:
        with self._lock:
            self._erase()

    def close(self) -> None:
        global _current
        self._stop.set()
        with self._lock:
            self._active.clear()
            self._since = None
            self._erase()
        if _current is self:
            _current = None

    def _tick(self) -> None:
        while not self._stop.wait(self._interval):
            with self._lock:
                if (
                    self._since is not None
                    and not self._paused
                    and time.monotonic() - self._since >= self._delay
                ):
                    self._draw(self.text())

    def text(self) -> str:
        """``listing nodes: 2,000 (done), pods: 12,500 ...``"""
        parts = [
            f"{what}: {count:,}" + ("" if what in self._active else " (done)")
            for what, count in self._counts.items()
        ]
        return "listing " + ", ".join(parts) + " ..."

    def _width(self) -> int:
        try:
            columns = os.get_terminal_size(self._stream.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
        if columns <= 0:  # a terminal that reports no size
            env = os.environ.get("COLUMNS", "")
            columns = int(env) if env.isdigit() and int(env) > 0 else 80
        return max(20, columns - 1)

    def _draw(self, text: str) -> None:
        text = text[: self._width()]
        if text == self._shown and self._drawn:
            return
        try:
            self._stream.write("\r" + text + " " * max(0, self._drawn - len(text)))
            self._stream.flush()
        except (OSError, ValueError):
            return
        self._drawn = len(text)
        self._shown = text

    def _erase(self) -> None:
        if not self._drawn:
            return
        try:
            self._stream.write("\r" + " " * self._drawn + "\r")
            self._stream.flush()
        except (OSError, ValueError):
            pass
        self._drawn = 0
