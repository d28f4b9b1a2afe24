"""What an evaluation is asked to do: the data sets, the split, the seeds, broker and strategy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bt_attention_lstm.models.config import ModelConfig, TrainConfig
from bt_attention_lstm.runners.research.cerebro import BrokerConfig


@dataclass(frozen=True)
class EvaluateConfig:
    """One evaluation of the default model over one or more data sets.

    ``data``: files (or ``FILE#SYMBOL``) or the built-in markets by name (``synthetic:default``,
    ``synthetic:planted``, ``synthetic:planted:SEED``, ``synthetic:random-walk:SEED``); one
    string or a sequence. The model trains on the first ``train_fraction`` of each, once per seed
    (``seeds`` of them, starting at the default model's seed), with ``train_config`` (None: the
    default model's, on ``device``) and ``model_config`` (None: the default architecture).
    ``strategy_params`` are AttentionLSTMStrategy params; the evaluation sets ``device`` and
    ``periods_per_year`` per data set itself. ``json_path``: also write every figure there,
    atomically, with ``command`` (the command line, when there is one) recorded in it.
    ``progress``: training progress bars.
    """

    data: Sequence[str]
    format: str = "auto"
    train_fraction: float = 0.6
    seeds: int = 3
    broker: BrokerConfig = BrokerConfig()
    strategy_params: Mapping[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    train_config: TrainConfig | None = None
    model_config: ModelConfig | None = None
    json_path: Path | None = None
    command: str | None = None
    progress: bool = False

    def __post_init__(self) -> None:
        # one data set may be named by a plain string; a tuple keeps the config immutable
        data = (self.data,) if isinstance(self.data, str) else tuple(self.data)
        object.__setattr__(self, "data", data)
