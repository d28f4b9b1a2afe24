"""FeedLines: the lines one feed's decision reads every bar, resolved once.

``indicator.confidence`` goes through backtrader's ``LineSeries.__getattr__`` and a line
descriptor on every access (about a microsecond each); a bar's decision reads a dozen of them.
The line objects themselves never change after the strategy's ``__init__``, so the strategy keeps
them here and reads ``line[0]`` directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bt_attention_lstm.indicators.feature_vector import FeatureVector
    from bt_attention_lstm.indicators.model_signal import ModelSignal


@dataclass(frozen=True, slots=True)
class FeedLines:
    """One feed's close, its model's confidence, and the FeatureVector lines the sizing and
    the stops read (backtrader ``LineBuffer`` objects: ``line[0]`` is the current bar)."""

    close: Any
    confidence: Any
    realized_vol: Any
    ex_ante_vol: Any
    atr_ratio: Any

    @classmethod
    def of(cls, data: Any, features: FeatureVector, signal: ModelSignal) -> FeedLines:
        return cls(
            close=data.close,
            confidence=signal.confidence,
            realized_vol=features.realized_vol_20,
            ex_ante_vol=features.ex_ante_vol,
            atr_ratio=features.atr_ratio,
        )
