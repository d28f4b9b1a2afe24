"""DecisionLog: one INFO record per decision, and optionally a JSON-lines file to tail.

Each record says what the strategy did on a bar and why: bar time, feed, feed status,
p_down/p_flat/p_up, confidence, edge (the confidence beyond the model's base rate, what the
strategy acts on), action, reason. ``decision_log=path`` appends the same records as JSON
lines (one object per line, flushed at once) that an operator can ``tail -f``. Order events
(fills, rejections, unprotected positions) go to the same file with action "order". Nothing is
formatted unless INFO is enabled or a file is open, so backtests pay nothing for it.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import IO, Any

from bt_attention_lstm.models.errors import ConfigError

logger = logging.getLogger(__name__)


def _num(value: float) -> float | None:
    value = float(value)
    return round(value, 6) if math.isfinite(value) else None


class DecisionLog:
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else None
        self._file: IO[str] | None = None
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("a", encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"decision_log {self.path}: cannot open it ({exc})") from exc

    @property
    def active(self) -> bool:
        return self._file is not None or logger.isEnabledFor(logging.INFO)

    def decision(
        self,
        bar_time: Any,
        feed: str,
        status: str,
        probs: tuple[float, float, float],
        action: str,
        reason: str,
        base_rate: float = 0.0,
    ) -> None:
        """Log one decision (call only when ``active``); ``edge`` is the confidence beyond the
        model's base rate, what the strategy acts on."""
        p_down, p_flat, p_up = probs
        logger.info(
            "%s %s [%s] p=(%.3f, %.3f, %.3f) confidence %+.3f edge %+.3f -> %s: %s",
            bar_time,
            feed,
            status,
            p_down,
            p_flat,
            p_up,
            p_up - p_down,
            p_up - p_down - base_rate,
            action,
            reason,
        )
        self._write(
            {
                "time": str(bar_time),
                "feed": feed,
                "status": status,
                "p_down": _num(p_down),
                "p_flat": _num(p_flat),
                "p_up": _num(p_up),
                "confidence": _num(p_up - p_down),
                "edge": _num(p_up - p_down - base_rate),
                "action": action,
                "reason": reason,
            }
        )

    def event(self, bar_time: Any, feed: str, message: str, warning: bool = False) -> None:
        """An order event: INFO, or WARNING for rejections and unprotected positions."""
        logger.log(logging.WARNING if warning else logging.INFO, "%s %s: %s", bar_time, feed,
                   message)
        self._write(
            {
                "time": str(bar_time),
                "feed": feed,
                "action": "order",
                "level": "WARNING" if warning else "INFO",
                "reason": message,
            }
        )

    def _write(self, record: dict[str, Any]) -> None:
        if self._file is None:
            return
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
