"""backtrader strategies and sizers driven by the AttentionLSTM."""

from bt_attention_lstm.strategies.attention_lstm import AttentionLSTMStrategy
from bt_attention_lstm.strategies.sizing import ConfidenceSizer, confidence_scale, target_fraction

EnhancedLSTMStrategy = AttentionLSTMStrategy

__all__ = [
    "AttentionLSTMStrategy",
    "ConfidenceSizer",
    "EnhancedLSTMStrategy",
    "confidence_scale",
    "target_fraction",
]
