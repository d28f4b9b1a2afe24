"""What an audit is asked to do: the model, the bars, the surrogate test, broker and strategy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.runners.research.audit.json_file import check_json_target
from bt_attention_lstm.runners.research.audit.surrogates import SURROGATE_METHODS
from bt_attention_lstm.runners.research.cerebro import BrokerConfig
from bt_attention_lstm.runners.research.inputs import check_date_range


@dataclass(frozen=True)
class AuditConfig:
    """One audit of a trained model on one series.

    ``data`` is a file, ``sample:FILE`` or ``FILE#SYMBOL`` (read as ``format``); ``symbol``
    downloads that ticker's daily bars instead; neither: the built-in synthetic market.
    ``start`` is the first traded date (earlier bars only warm the model up), ``end`` the last
    one, inclusive.
    ``strategy_params`` are AttentionLSTMStrategy params; the audit sets ``device`` and
    ``periods_per_year`` (from the bars) itself. ``surrogates`` randomised series are traded
    (0 skips the test) with ``method`` "block" (stationary bootstrap, mean block ``block_len``
    bars) or "phase". ``json_path``: also write the report there, atomically. ``progress``: a
    progress bar over the surrogates on stderr.
    """

    model: str | Path
    data: str | None = None
    symbol: str | None = None
    format: str = "auto"
    start: str | None = None
    end: str | None = None
    timeframe: str | None = None
    allow_timeframe_mismatch: bool = False
    surrogates: int = 20
    method: str = "block"
    block_len: float = 5.0
    surrogate_seed: int = 0
    broker: BrokerConfig = BrokerConfig()
    strategy_params: Mapping[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    json_path: Path | None = None
    progress: bool = False

    def validate(self) -> None:
        """ConfigError for a value no audit can run with (before anything is loaded)."""
        if self.surrogates < 0:
            raise ConfigError(f"`surrogates` must be >= 0, got {self.surrogates}")
        if self.method not in SURROGATE_METHODS:
            raise ConfigError(
                f"unknown `method` {self.method!r}; use {' or '.join(SURROGATE_METHODS)}"
            )
        if not self.block_len >= 1.0:
            raise ConfigError(f"`block_len` must be >= 1 bar, got {self.block_len}")
        check_date_range(self.start, self.end)
        check_json_target(self.json_path)
