"""backtrader strategies and sizers driven by the AttentionLSTM (exported lazily)."""

from bt_attention_lstm.models.lazy_exports import lazy_exports

_EXPORTS = {
    "AttentionLSTMStrategy": "attention_lstm",
    "ConfidenceSizer": "sizing",
    "StrategyConfig": "config",
    "confidence_scale": "sizing",
    "target_fraction": "sizing",
    "TradeRecords": "analyzers",
    "resolve_trade_datas": "execution.feed_roles",
    "LiveReplayFeed": "live.feed",
    "PaperBroker": "live.paper_broker",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
