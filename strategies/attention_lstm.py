"""AttentionLSTMStrategy: trades the AttentionLSTM's confidence with sizing, stops and risk."""

from __future__ import annotations

import logging
import math
from array import array
from datetime import datetime
from typing import Any

import backtrader as bt
import numpy as np

from bt_attention_lstm.indicators.feature_vector import FeatureVector
from bt_attention_lstm.indicators.features import warmup_bars
from bt_attention_lstm.indicators.model_signal import ModelSignal
from bt_attention_lstm.models.artifact import Artifact, load_artifact
from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.strategies.dropin_checks import (
    warn_bar_size,
    warn_short_feed,
    warn_user_sizer,
)
from bt_attention_lstm.strategies.feed_roles import resolve_trade_datas
from bt_attention_lstm.strategies.live_session import LiveSession
from bt_attention_lstm.strategies.order_lifecycle import OrderLifecycle
from bt_attention_lstm.strategies.sizing import SIZING_RULES, ConfidenceSizer, SizingInputs
from bt_attention_lstm.strategies.trade_record import TradeRecord

logger = logging.getLogger(__name__)

BAR_SIZE_SAMPLE = 60  # bars of a feed read to tell its bar size (weekends and holidays included)


class AttentionLSTMStrategy(OrderLifecycle, LiveSession, bt.Strategy):
    """Long (and optionally short) positions sized by the model's confidence.

    For every data feed: a ``ModelSignal`` gives confidence = p_up - p_down, and the strategy
    trades its edge: confidence minus the calibrated model's base rate (``Artifact.
    prior_confidence``, p_up - p_down of the training labels; 0 for an uncalibrated model or
    with ``relative_confidence=False``). Flat and |edge| >= threshold -> a market order filled
    at the next bar's open (never on the close it was decided on). Exits: the edge no
    longer in the position's favour (``exit_threshold``), a stop-loss (``stop_loss`` fraction
    and/or ``atr_stop`` x ATR from the fill, the tighter one wins), a trailing stop
    (``trail_percent``) and a take-profit, placed as one OCO group when the entry fills, and
    all cancelled when the position closes (no orphan orders). A model calibrated to the class
    prior (``Artifact.says_nothing``) neither opens nor closes positions on its constant signal;
    only stops close what it holds (an adopted position, say).

    Params:
      - model_path: artifact directory written by runners/train.py (or ``artifact``: a loaded one)
      - threshold (0.2): minimum |edge| to enter
      - exit_threshold (0.0): a position closes when the edge in its favour falls to or below
        this: by default as soon as the model no longer favours it (entries need ``threshold``,
        so the band between them keeps a position from flickering); None = -threshold, only on
        the opposite signal
      - relative_confidence (True): measure the edge from the model's base rate, so that a
        model which repeats the drift of its training range does not trade it; False compares
        p_up - p_down with zero
      - max_position (0.95): cap on each data's position, as a fraction of portfolio value
      - sizing ("confidence"): "confidence" | "fixed" | "volatility" (see strategies.sizing)
      - target_vol (0.15): annualised volatility target of the "volatility" rule
      - stop_loss (0.05): stop distance as a fraction of the entry price; None disables
      - atr_stop (None): stop distance in ATRs (the model's ATR feature x close); None disables
      - trail_percent (None): trailing stop distance as a fraction (e.g. 0.08); None disables
      - take_profit (None): take-profit distance as a fraction; None disables
      - allow_short (False): enter shorts on confidence <= -threshold
      - regime_filter (True): scale risk by ``regime_scale`` when the trailing volatility is at or
        above its ``regime_quantile`` over the last ``regime_lookback`` bars (0 = stand aside)
      - cooldown (0): bars to wait after an exit before re-entering the same data
      - device ("auto"), batch_size (4096), threads (1): ModelSignal's inference settings
      - periods_per_year (252): to annualise volatility for sizing
      - trade_start (None): a datetime before which bars only warm up (no orders)
      - trade_datas (None): the feeds to trade, by name or index (or feed objects); None = every
        feed except resampled/replayed copies of another feed, which are context only
      - state_path (None): JSON file of the strategy's own state, saved after every change and
        restored on start (restart safety)
      - on_existing_position ("refuse"): units at the broker the strategy did not open, found on
        the first tradable bar: "adopt" (protect and manage) | "ignore" | "refuse" (error)
      - decision_log (None): a JSON-lines file of every decision and order event (INFO logs
        carry the same records)
      - max_order_retries (3): protective orders placed again after they die, before a position
        that cannot be protected is closed at market

    Live feeds (``islive()``): orders only on bars the feed reports LIVE, never on DELAYED
    backfill or after CONNBROKEN/DISCONNECTED until LIVE again; features and the model warm up
    on backfill. Every broker order event (partial fills, rejections, margin, cancels,
    expiries) is handled: see ``strategies.order_lifecycle``. ``replaydata`` is refused.

    With several feeds, each data's cap is its equal-risk share (inverse trailing volatility,
    normalised to sum to one over the traded feeds already warmed up) but never more than
    ``max_position``. Each feed trades from its own warm-up (``prenext``): a feed that starts
    later does not hold the others back. A sizer set with ``cerebro.addsizer`` replaces the
    plugin's sizing (a WARNING says so); a feed too short for the model, or with another bar
    size than the model's, gets a WARNING too. ``equity_times``/``equity_values`` hold the
    portfolio value after every bar (``equity_curve`` as (datetime, value) pairs), for
    ``reports.report_from_strategy``.
    """

    alias = ("EnhancedLSTMStrategy",)
    params = (
        ("model_path", None),
        ("artifact", None),
        ("threshold", 0.2),
        ("exit_threshold", 0.0),
        ("relative_confidence", True),
        ("max_position", 0.95),
        ("sizing", "confidence"),
        ("target_vol", 0.15),
        ("stop_loss", 0.05),
        ("atr_stop", None),
        ("trail_percent", None),
        ("take_profit", None),
        ("allow_short", False),
        ("regime_filter", True),
        ("regime_lookback", 252),
        ("regime_quantile", 0.9),
        ("regime_scale", 0.5),
        ("cooldown", 0),
        ("device", "auto"),
        ("batch_size", 4096),
        ("threads", 1),
        ("periods_per_year", 252.0),
        ("min_scale", 0.25),
        ("trade_start", None),
        ("trade_datas", None),
        ("state_path", None),
        ("on_existing_position", "refuse"),
        ("decision_log", None),
        ("max_order_retries", 3),
    )

    def __init__(self) -> None:
        self._check_params()
        # the edge in a position's favour at or below which it closes
        self._exit_level = (-self.p.threshold if self.p.exit_threshold is None
                            else float(self.p.exit_threshold))
        if self.p.artifact is None and not self.p.model_path:
            raise ConfigError("AttentionLSTMStrategy needs model_path (an artifact directory)")
        self.artifact: Artifact = self.p.artifact or load_artifact(self.p.model_path)
        self.base_rate = self.artifact.prior_confidence if self.p.relative_confidence else 0.0
        self.trade_datas: list[bt.DataBase] = resolve_trade_datas(self.datas, self.p.trade_datas)
        self.features: dict[bt.DataBase, FeatureVector] = {}
        self.signals: dict[bt.DataBase, ModelSignal] = {}
        for data in self.trade_datas:
            # The strategy owns the FeatureVector (it reads ATR and volatility from it) and
            # lends it to ModelSignal, so features are computed once per data.
            self.features[data] = FeatureVector(data, spec=self.artifact.feature_spec)
            self.signals[data] = ModelSignal(
                data,
                artifact=self.artifact,
                device=self.p.device,
                batch_size=self.p.batch_size,
                threads=self.p.threads,
                threshold=self.p.threshold,
                base_rate=self.base_rate,
                features=self.features[data],
            )
        self.setsizer(
            ConfidenceSizer(
                threshold=self.p.threshold,
                max_position=self.p.max_position,
                sizing=self.p.sizing,
                target_vol=self.p.target_vol,
                min_scale=self.p.min_scale,
            )
        )
        self._init_lifecycle()  # order bookkeeping (strategies.order_lifecycle)
        self._init_live()  # gate, decision log, state (strategies.live_session)
        self.trades: list[TradeRecord] = []
        self.bars_in_market = 0
        self.bars_seen = 0
        # Portfolio value after every bar, as backtrader float datetimes: 16 bytes a bar.
        self.equity_times = array("d")
        self.equity_values = array("d")
        self._bar_size_checked: set[int] = set()

    def _check_params(self) -> None:
        p = self.p
        if p.sizing not in SIZING_RULES:
            raise ConfigError(f"sizing must be one of {', '.join(SIZING_RULES)}, got {p.sizing!r}")
        if not 0.0 <= p.threshold <= 1.0:
            raise ConfigError(f"threshold must be in [0, 1], got {p.threshold}")
        if p.exit_threshold is not None and not -p.threshold <= p.exit_threshold <= p.threshold:
            raise ConfigError(
                f"exit_threshold must be in [-threshold, threshold], got {p.exit_threshold}"
            )
        if not 0.0 < p.max_position <= 1.0:
            raise ConfigError(f"max_position must be in (0, 1], got {p.max_position}")
        for name in ("stop_loss", "trail_percent", "take_profit", "atr_stop"):
            value = getattr(p, name)
            if value is not None and not value > 0:
                raise ConfigError(f"{name} must be positive or None, got {value}")
        if not 0.0 <= p.regime_scale <= 1.0:
            raise ConfigError(f"regime_scale must be in [0, 1], got {p.regime_scale}")

    def start(self) -> None:
        if self.env.p.exactbars:
            raise ConfigError(
                f"exactbars={self.env.p.exactbars} is not supported: run Cerebro with exactbars=0"
            )
        warn_user_sizer(self.getsizer(), ConfidenceSizer)
        if self.base_rate:
            logger.info("trading the edge over the model's base rate p_up - p_down = %+.3f",
                        self.base_rate)
        if self.artifact.says_nothing:
            logger.warning(
                "model %s was calibrated to the class prior (its training found no edge that held "
                "out of sample): its confidence is a constant, so no position will be opened",
                self.artifact.path,
            )

    # -- inputs for the sizer -----------------------------------------------------------------
    def _annual_vol(self, data: bt.DataBase) -> float:
        per_bar = self.features[data].realized_vol_20[0]
        return float(per_bar * math.sqrt(self.p.periods_per_year))

    def _regime_scale(self, data: bt.DataBase) -> float:
        """``regime_scale`` when volatility is in its top quantile, else 1."""
        if not self.p.regime_filter:
            return 1.0
        vol_line = self.features[data].realized_vol_20
        # Size by the data's length: in runonce mode a line's len() is the whole preloaded array.
        history = np.asarray(vol_line.get(size=min(len(data), self.p.regime_lookback)))
        history = history[np.isfinite(history)]
        if history.size < 20:
            return 1.0
        rank = float(np.mean(history <= vol_line[0]))
        return self.p.regime_scale if rank >= self.p.regime_quantile else 1.0

    def _risk_share(self, data: bt.DataBase) -> float:
        """Equal-risk share of this data among all feeds (1.0 with a single feed)."""
        if len(self.trade_datas) == 1:
            return 1.0
        inverse = {}
        for d in self.trade_datas:  # a feed still warming up (or not started) takes no share
            vol = self.features[d].realized_vol_20[0] if self._ready(d) else float("nan")
            inverse[d] = 1.0 / vol if vol > 0 and math.isfinite(vol) else 0.0
        total = sum(inverse.values())
        return inverse[data] / total if total > 0 else 1.0 / len(self.trade_datas)

    def sizing_inputs(self, data: bt.DataBase) -> SizingInputs:
        return SizingInputs(
            confidence=self._edge(data),
            annual_vol=self._annual_vol(data),
            risk_scale=self._regime_scale(data) * self._risk_share(data),
        )

    # -- decisions ------------------------------------------------------------------------------
    def _edge(self, data: bt.DataBase) -> float:
        """This bar's confidence beyond the model's base rate (what the strategy trades)."""
        return float(self.signals[data].confidence[0]) - self.base_rate

    def _ready(self, data: bt.DataBase) -> bool:
        """Whether this feed's model has its first signal (its own warm-up is over)."""
        return len(data) >= self.signals[data]._minperiod

    def prenext(self) -> None:
        # backtrader waits for every feed's warm-up before next(); each feed trades from its own.
        self.next()

    def _check_bar_size(self, data: bt.DataBase) -> None:
        """Once per feed, as soon as its bar spacing can be told (or its model is ready)."""
        if id(data) in self._bar_size_checked:
            return
        if len(data) >= min(self.signals[data]._minperiod, BAR_SIZE_SAMPLE):
            self._bar_size_checked.add(id(data))
            warn_bar_size(data, self.artifact.meta)

    def next(self) -> None:
        self.equity_times.append(self.datetime[0])
        self.equity_values.append(self.broker.getvalue())
        for data in self.trade_datas:
            self._check_bar_size(data)
        if self.p.trade_start is not None and self.datetime.datetime(0) < self.p.trade_start:
            return
        ready = [d for d in self.trade_datas if self._ready(d)]
        if not ready:
            return
        self.bars_seen += 1
        if any(self.getposition(d).size for d in self.trade_datas):
            self.bars_in_market += 1
        for data in ready:
            self._decide(data)

    def _decide(self, data: bt.DataBase) -> None:
        action, reason = self._live_checks(data) or self._choose(data)
        if self.decisions.active:
            self._log_decision(data, action, reason)
        if self.state_changed:
            self._flush_state()

    def _choose(self, data: bt.DataBase) -> tuple[str, str]:
        """Act on this bar's signal; returns (action, reason) for the decision log."""
        if self._entry_order[data] is not None or self._exit_order[data] is not None:
            return "wait", "an order is in flight"
        if self._protection_pending(data):
            # an exit now could race the stops: wait until they can be cancelled
            return "wait", "protective orders not yet accepted"
        edge = self._edge(data)
        if not math.isfinite(edge):
            return "wait", "no signal"
        if self.artifact.says_nothing:
            # a constant (the class prior's) is no signal, to open or to close a position,
            # whatever its sign and size: stops manage what such a model holds (adopted units)
            return "hold", "the model is the class prior: no signal to act on"
        size = self._owned[data]  # what this strategy owns, not the broker's whole position
        if size != 0:
            in_favour = edge if size > 0 else -edge
            if in_favour <= self._exit_level:
                self._exit(data, "signal")
                return "exit", f"edge {edge:+.3f} no longer favours the position"
            return "hold", "in position"
        threshold = self.p.threshold
        if abs(edge) < threshold or edge < 0 and not self.p.allow_short:
            return "hold", f"edge {edge:+.3f} does not reach {threshold}"
        if self._cooling_down(data):
            return "wait", "cooldown after the last exit"
        long = edge >= threshold
        if self._enter(data, long=long):
            return ("buy" if long else "sell"), f"edge {edge:+.3f}"
        return "hold", "the sizer gave zero units"

    def _cooling_down(self, data: bt.DataBase) -> bool:
        last = self._last_exit_bar.get(data)
        return last is not None and len(data) - last <= self.p.cooldown

    def _finish(self, data: bt.DataBase, record: TradeRecord) -> None:
        record.bars_held = len(data) - self._entry_bar.pop(data, len(data))
        direction = 1.0 if record.side == "long" else -1.0
        gross = direction * (record.exit_price - record.entry_price) * record.size
        record.pnl = gross - record.commission
        record.pnl_pct = record.pnl / (record.entry_price * record.size)
        self.trades.append(record)

    def stop(self) -> None:
        """Record positions still open at the end, valued at the last close."""
        self._end_session()  # save the open state first: a restart resumes from it
        warmup, seq_len = warmup_bars(self.artifact.feature_spec), self.artifact.seq_len
        for data in self.trade_datas:
            warn_short_feed(data, self.signals[data]._minperiod, warmup, seq_len)
        for data, record in self._open_trade.items():
            if record is None:
                continue
            record.exit_time = data.datetime.datetime(0)
            record.exit_price = float(data.close[0])
            record.exit_reason = "open"
            self._finish(data, record)
            self._open_trade[data] = None

    @property
    def exposure(self) -> float:
        """Fraction of the strategy's bars with a position in any data."""
        return self.bars_in_market / self.bars_seen if self.bars_seen else 0.0

    @property
    def equity_curve(self) -> list[tuple[datetime, float]]:
        """(datetime, portfolio value) after every bar, warm-up included."""
        pairs = zip(self.equity_times, self.equity_values, strict=True)
        return [(bt.num2date(t), v) for t, v in pairs]

    def trade_rows(self) -> list[dict[str, Any]]:
        return [t.to_dict() for t in self.trades]
