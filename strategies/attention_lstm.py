"""AttentionLSTMStrategy: trades the AttentionLSTM's confidence with sizing, stops and risk."""

from __future__ import annotations

import logging
import math
from typing import Any

import backtrader as bt
import numpy as np

from bt_attention_lstm.indicators.feature_vector import FeatureVector
from bt_attention_lstm.indicators.model_signal import ModelSignal
from bt_attention_lstm.models.artifact import Artifact, load_artifact
from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.strategies.sizing import SIZING_RULES, ConfidenceSizer, SizingInputs
from bt_attention_lstm.strategies.trade_record import TradeRecord

logger = logging.getLogger(__name__)


class AttentionLSTMStrategy(bt.Strategy):
    """Long (and optionally short) positions sized by the model's confidence.

    For every data feed: a ``ModelSignal`` gives confidence = p_up - p_down. Flat and
    |confidence| >= threshold -> a market order filled at the next bar's open (never on the
    close it was decided on). Exits: the opposite signal (confidence beyond -threshold), a
    stop-loss (``stop_loss`` fraction and/or ``atr_stop`` x ATR from the fill, the tighter one
    wins), a trailing stop (``trail_percent``) and a take-profit, placed as one OCO group when
    the entry fills, and all cancelled when the position closes (no orphan orders).

    Params:
      - model_path: artifact directory written by runners/train.py (or ``artifact``: a loaded one)
      - threshold (0.2): minimum |confidence| to enter
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

    With several feeds, each data's cap is its equal-risk share (inverse trailing volatility,
    normalised to sum to one) but never more than ``max_position``.
    """

    alias = ("EnhancedLSTMStrategy",)
    params = (
        ("model_path", None),
        ("artifact", None),
        ("threshold", 0.2),
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
    )

    def __init__(self) -> None:
        self._check_params()
        if self.p.artifact is None and not self.p.model_path:
            raise ConfigError("AttentionLSTMStrategy needs model_path (an artifact directory)")
        self.artifact: Artifact = self.p.artifact or load_artifact(self.p.model_path)
        self.features: dict[bt.DataBase, FeatureVector] = {}
        self.signals: dict[bt.DataBase, ModelSignal] = {}
        for data in self.datas:
            # The strategy owns the FeatureVector (it reads ATR and volatility from it) and
            # lends it to ModelSignal, so features are computed once per data.
            self.features[data] = FeatureVector(data, spec=self.artifact.feature_spec)
            self.signals[data] = ModelSignal(
                data,
                artifact=self.artifact,
                device=self.p.device,
                batch_size=self.p.batch_size,
                threads=self.p.threads,
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
        self._entry_order: dict[bt.DataBase, bt.Order | None] = {d: None for d in self.datas}
        self._exit_order: dict[bt.DataBase, bt.Order | None] = {d: None for d in self.datas}
        self._protective: dict[bt.DataBase, list[bt.Order]] = {d: [] for d in self.datas}
        self._order_reason: dict[int, str] = {}
        self._open_trade: dict[bt.DataBase, TradeRecord | None] = {d: None for d in self.datas}
        self._last_exit_bar: dict[bt.DataBase, int] = {}
        self._entry_bar: dict[bt.DataBase, int] = {}
        self.trades: list[TradeRecord] = []
        self.bars_in_market = 0
        self.bars_seen = 0

    def _check_params(self) -> None:
        p = self.p
        if p.sizing not in SIZING_RULES:
            raise ConfigError(f"sizing must be one of {', '.join(SIZING_RULES)}, got {p.sizing!r}")
        if not 0.0 <= p.threshold <= 1.0:
            raise ConfigError(f"threshold must be in [0, 1], got {p.threshold}")
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
        if len(self.datas) == 1:
            return 1.0
        inverse = {}
        for d in self.datas:
            vol = self.features[d].realized_vol_20[0] if len(d) else float("nan")
            inverse[d] = 1.0 / vol if vol > 0 and math.isfinite(vol) else 0.0
        total = sum(inverse.values())
        return inverse[data] / total if total > 0 else 1.0 / len(self.datas)

    def sizing_inputs(self, data: bt.DataBase) -> SizingInputs:
        return SizingInputs(
            confidence=float(self.signals[data].confidence[0]),
            annual_vol=self._annual_vol(data),
            risk_scale=self._regime_scale(data) * self._risk_share(data),
        )

    # -- decisions ------------------------------------------------------------------------------
    def next(self) -> None:
        if self.p.trade_start is not None and self.datetime.datetime(0) < self.p.trade_start:
            return
        self.bars_seen += 1
        if any(self.getposition(d).size for d in self.datas):
            self.bars_in_market += 1
        for data in self.datas:
            if len(data) < self.signals[data]._minperiod:
                continue  # this feed's model is still warming up
            self._decide(data)

    def _decide(self, data: bt.DataBase) -> None:
        if self._entry_order[data] is not None or self._exit_order[data] is not None:
            return  # an order of ours is still in flight for this data
        if self._protection_pending(data):
            return  # an exit now could race the stops: wait until they can be cancelled
        confidence = self.signals[data].confidence[0]
        if not math.isfinite(confidence):
            return
        size = self.getposition(data).size
        threshold = self.p.threshold
        if size > 0 and confidence <= -threshold or size < 0 and confidence >= threshold:
            self._exit(data, "signal")
        elif size == 0 and not self._cooling_down(data):
            if confidence >= threshold:
                self._enter(data, long=True)
            elif confidence <= -threshold and self.p.allow_short:
                self._enter(data, long=False)

    def _cooling_down(self, data: bt.DataBase) -> bool:
        last = self._last_exit_bar.get(data)
        return last is not None and len(data) - last <= self.p.cooldown

    def _enter(self, data: bt.DataBase, long: bool) -> None:
        order = self.buy(data=data) if long else self.sell(data=data)
        if order is not None:
            self._entry_order[data] = order
            logger.debug(
                "%s: %s entry at confidence %.3f",
                data._name,
                "long" if long else "short",
                self.signals[data].confidence[0],
            )

    def _exit(self, data: bt.DataBase, reason: str) -> None:
        self._cancel_protective(data)
        order = self.close(data=data)
        if order is not None:
            self._exit_order[data] = order
            self._order_reason[order.ref] = reason

    # -- protective orders --------------------------------------------------------------------
    def _place_protective(self, data: bt.DataBase, fill_price: float, size: float) -> None:
        long = size > 0
        qty = abs(size)
        exit_order = self.sell if long else self.buy
        sign = -1.0 if long else 1.0
        distances = []
        if self.p.stop_loss:
            distances.append(self.p.stop_loss * fill_price)
        if self.p.atr_stop:
            atr = self.features[data].atr_ratio[0] * data.close[0]
            if math.isfinite(atr) and atr > 0:
                distances.append(self.p.atr_stop * atr)
        orders: list[bt.Order] = []
        oco = None
        if distances:
            stop_price = fill_price + sign * min(distances)
            oco = exit_order(data=data, size=qty, exectype=bt.Order.Stop, price=stop_price)
            self._order_reason[oco.ref] = "stop"
            orders.append(oco)
        if self.p.trail_percent:
            trail = exit_order(
                data=data,
                size=qty,
                exectype=bt.Order.StopTrail,
                trailpercent=self.p.trail_percent,
                oco=oco,
            )
            self._order_reason[trail.ref] = "trail"
            oco = oco or trail
            orders.append(trail)
        if self.p.take_profit:
            tp_price = fill_price * (1.0 - sign * self.p.take_profit)
            tp = exit_order(data=data, size=qty, exectype=bt.Order.Limit, price=tp_price, oco=oco)
            self._order_reason[tp.ref] = "take-profit"
            orders.append(tp)
        self._protective[data] = orders
        logger.debug(
            "%s: protective orders %s",
            data._name,
            [(self._order_reason[o.ref], o.created.price) for o in orders],
        )

    def _cancel_protective(self, data: bt.DataBase) -> None:
        for order in self._protective[data]:
            if order.alive():
                self.cancel(order)
        # The broker only cancels orders it has accepted; keep any others for the next try.
        self._protective[data] = [o for o in self._protective[data] if o.alive()]

    def _protection_pending(self, data: bt.DataBase) -> bool:
        """Protective orders created but not yet accepted cannot be cancelled this bar."""
        return any(o.status in (o.Created, o.Submitted) for o in self._protective[data])

    # -- notifications -----------------------------------------------------------------------
    def notify_order(self, order: bt.Order) -> None:
        if order.status in (order.Submitted, order.Accepted):
            return
        data = order.data
        # The broker notifies clones of its orders: match by reference number, not identity.
        if self._is(order, self._entry_order[data]):
            self._entry_order[data] = None
            if order.status == order.Completed:
                self._on_entry_fill(data, order)
            else:
                logger.info("%s: entry order %s", data._name, order.getstatusname())
            return
        if order.status != order.Completed:
            return  # a cancelled/expired protective order, or a rejected exit
        if self._is(order, self._exit_order[data]):
            self._exit_order[data] = None
        reason = self._order_reason.get(order.ref, "signal")
        if self.getposition(data).size == 0:
            self._cancel_protective(data)  # OCO siblings and anything left: no orphan orders
            self._close_record(data, order, reason)
        logger.debug("%s: exit filled (%s) at %.4f", data._name, reason, order.executed.price)

    @staticmethod
    def _is(order: bt.Order, tracked: bt.Order | None) -> bool:
        return tracked is not None and order.ref == tracked.ref

    def _on_entry_fill(self, data: bt.DataBase, order: bt.Order) -> None:
        size = order.executed.size
        self._open_trade[data] = TradeRecord(
            data=data._name or "data0",
            side="long" if size > 0 else "short",
            size=abs(size),
            entry_time=bt.num2date(order.executed.dt),
            entry_price=order.executed.price,
            commission=order.executed.comm,
        )
        self._entry_bar[data] = len(data)
        self._place_protective(data, order.executed.price, size)
        logger.debug("%s: entry filled %+.4f at %.4f", data._name, size, order.executed.price)

    def _close_record(self, data: bt.DataBase, order: bt.Order, reason: str) -> None:
        record = self._open_trade[data]
        self._open_trade[data] = None
        self._last_exit_bar[data] = len(data)
        if record is None:
            return
        record.exit_time = bt.num2date(order.executed.dt)
        record.exit_price = order.executed.price
        record.exit_reason = reason
        record.commission += order.executed.comm
        self._finish(data, record)

    def _finish(self, data: bt.DataBase, record: TradeRecord) -> None:
        record.bars_held = len(data) - self._entry_bar.pop(data, len(data))
        direction = 1.0 if record.side == "long" else -1.0
        gross = direction * (record.exit_price - record.entry_price) * record.size
        record.pnl = gross - record.commission
        record.pnl_pct = record.pnl / (record.entry_price * record.size)
        self.trades.append(record)

    def stop(self) -> None:
        """Record positions still open at the end, valued at the last close."""
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

    def trade_rows(self) -> list[dict[str, Any]]:
        return [t.to_dict() for t in self.trades]
