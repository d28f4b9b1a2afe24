"""backtrader strategies and sizers driven by the AttentionLSTM."""

from strategies.attention_lstm import AttentionLSTMStrategy
from strategies.sizing import ConfidenceSizer, confidence_scale, target_fraction

EnhancedLSTMStrategy = AttentionLSTMStrategy

__all__ = [
    "AttentionLSTMStrategy",
    "ConfidenceSizer",
    "EnhancedLSTMStrategy",
    "confidence_scale",
    "target_fraction",
]
