"""A logger wrapper that logs repeats of one kind of event at a bounded rate.

What comes off the wire is chosen by whoever sends it, so a flood of junk must not become a flood of
log lines (docs/protocol.md, "Hostile input"): per kind (a key such as ``"reject.LATE"`` or
``"undecodable.MoveRequest"``), the first event is logged at once, later ones at most once every
``interval`` seconds, and that line says how many were suppressed since the previous one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["RateLimitedLog"]

#: The key events share once ``max_keys`` keys are in use (keys may come off the wire).
OTHER_KEYS = "(other kinds)"


@dataclass
class _Entry:
    at: float
    suppressed: int = 0


class RateLimitedLog:
    """Logs events of one key at most once every ``interval`` seconds, counting the rest.

    :param logger: where lines go.
    :param interval: seconds between two lines of one key (5, as the market does).
    :param max_keys: keys tracked; beyond that, new keys share one entry.
    :param clock: monotonic seconds (tests pass a fake one).
    """

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = 5.0,
        max_keys: int = 64,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval = interval
        self.max_keys = max_keys
        self._clock = clock
        self._last: dict[str, _Entry] = {}

    def log(self, level: int, key: str, msg: str, *args: Any) -> bool:
        """Logs ``msg % args`` unless a line of ``key`` went out less than ``interval`` s ago;
        returns whether it was logged. A logged line carries the count suppressed before it."""
        k = key if key in self._last or len(self._last) < self.max_keys else OTHER_KEYS
        t = self._clock()
        e = self._last.get(k)
        if e is not None and t - e.at < self.interval:
            e.suppressed += 1
            return False
        if e is not None and e.suppressed > 0:
            msg += " (%d more suppressed in the last %.1f s)"
            args = (*args, e.suppressed, t - e.at)
        self.logger.log(level, msg, *args)
        self._last[k] = _Entry(t)
        return True

    def warning(self, key: str, msg: str, *args: Any) -> bool:
        """:meth:`log` at WARNING."""
        return self.log(logging.WARNING, key, msg, *args)

    def flush(self, msg: str = "not logged one by one") -> None:
        """Logs, per key, how many events were suppressed since its last line (at the end of a run)."""
        for key, e in self._last.items():
            if e.suppressed > 0:
                self.logger.warning("%s: %d %s", key, e.suppressed, msg)
                e.suppressed = 0
