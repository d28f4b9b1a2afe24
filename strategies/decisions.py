"""Decisions: signal -> target position, for ``AttentionLSTMStrategy`` (a mixin over its public
attributes: ``config``, ``orders``, ``features``, ``signals``, ``trade_datas``, ``artifact``,
``base_rate``, ``abstaining``, ``own_sizer``).

Each bar and feed: the edge (the model's confidence beyond its base rate) -> either the
entry/exit rules (enter at ``threshold``, exit at the exit level) or volatility targeting (trade
to the target weight outside the no-trade band). The orders themselves are the
``OrderManager``'s.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import backtrader as bt
import numpy as np

from bt_attention_lstm.strategies.execution.feed_book import EPS
from bt_attention_lstm.strategies.execution.order_manager import PROTECTIVE_REASONS
from bt_attention_lstm.strategies.feed_lines import FeedLines
from bt_attention_lstm.strategies.sizing import (
    MIN_WEIGHT,
    ConfidenceSizer,
    SizingInputs,
    needs_rebalance,
    vol_target_weight,
    vol_target_weights,
)
from bt_attention_lstm.strategies.trailing_rank import TrailingRank, trailing_ranks

if TYPE_CHECKING:
    from bt_attention_lstm.indicators.feature_vector import FeatureVector
    from bt_attention_lstm.indicators.model_signal import ModelSignal
    from bt_attention_lstm.models.artifact import Artifact
    from bt_attention_lstm.strategies.config import StrategyConfig
    from bt_attention_lstm.strategies.execution.order_manager import OrderManager

VOL_HISTORY_MIN = 20  # finite volatility readings the regime filter needs to rank against
# what a bar's target weight is computed from: a subclass that overrides one of them keeps the
# per-bar computation (precompute_targets would not see its override)
BAR_INPUTS = ("edge", "annual_vol", "regime_scale", "book_share", "sizing_inputs",
              "bar_target_weight")


class Decisions:
    config: StrategyConfig
    orders: OrderManager
    artifact: Artifact
    features: dict[bt.DataBase, FeatureVector]
    signals: dict[bt.DataBase, ModelSignal]
    regime_ranks: dict[bt.DataBase, TrailingRank]
    feed_lines: dict[bt.DataBase, FeedLines]
    trade_datas: list[bt.DataBase]
    base_rate: float
    model_says_nothing: bool
    abstaining: list[str]
    own_sizer: bool
    target_sizer: ConfidenceSizer | None
    precomputed_targets: dict[bt.DataBase, list[float]]
    precomputed_regime: dict[bt.DataBase, list[float]]
    vol_target: bool
    broker: Any
    getsizer: Any

    # -- inputs for the sizer -----------------------------------------------------------------
    def annual_vol(self, data: bt.DataBase) -> float:
        per_bar = self.feed_lines[data].realized_vol[0]
        return float(per_bar * self.config.sizing.annualiser)

    def regime_scale(self, data: bt.DataBase) -> float:
        """``regime_scale`` when volatility is in its top quantile of the last
        ``regime_lookback`` bars (this one included), else 1."""
        sizing = self.config.sizing
        if not sizing.regime_filter:
            return 1.0
        lines = self.feed_lines[data]
        scales = self.precomputed_regime.get(data)
        if scales is not None:  # runonce: precompute_targets ranked every bar at once
            return scales[len(lines.close) - 1]
        vol_line = lines.realized_vol
        # the feed's bars: len(data) is the length of its first line, the close
        rank = self.regime_ranks[data].rank(len(lines.close), float(vol_line[0]),
                                            lambda ago: vol_line[-ago], VOL_HISTORY_MIN)
        # NaN (too few readings to rank against) compares False: no cut
        return sizing.regime_scale if rank >= sizing.regime_quantile else 1.0

    def risk_share(self, data: bt.DataBase) -> float:
        """Equal-risk share of this data among all feeds (1.0 with a single feed)."""
        if len(self.trade_datas) == 1:
            return 1.0
        inverse = {}
        for d in self.trade_datas:  # a feed still warming up (or not started) takes no share
            vol = self.feed_lines[d].realized_vol[0] if self.ready(d) else float("nan")
            inverse[d] = 1.0 / vol if vol > 0 and math.isfinite(vol) else 0.0
        total = sum(inverse.values())
        return inverse[data] / total if total > 0 else 1.0 / len(self.trade_datas)

    def book_share(self) -> float:
        """vol_target's equal share of the book for each warmed-up feed (1 with one feed):
        the weights are already scaled to equal volatility, so no inverse-volatility split."""
        if len(self.trade_datas) == 1:
            return 1.0
        return 1.0 / max(1, sum(1 for d in self.trade_datas if self.ready(d)))

    def sizing_inputs(self, data: bt.DataBase) -> SizingInputs:
        held = self.orders.book(data).owned
        if self.vol_target:
            share = self.book_share()
            return SizingInputs(
                confidence=self.edge(data), annual_vol=self.annual_vol(data),
                risk_scale=self.regime_scale(data) * share,
                ex_ante_vol=float(self.feed_lines[data].ex_ante_vol[0]), held=held, share=share,
            )
        return SizingInputs(
            confidence=self.edge(data), annual_vol=self.annual_vol(data),
            risk_scale=self.regime_scale(data) * self.risk_share(data), held=held,
        )

    def target_weight(self, data: bt.DataBase) -> float:
        """vol_target's signed target weight for this bar (NaN while undefined): the sizer's,
        so that the decision to trade and the order's size agree. Read from the weights
        ``precompute_targets`` computed in a runonce backtest, computed here otherwise."""
        targets = self.precomputed_targets.get(data)
        if targets is not None:
            return targets[len(self.feed_lines[data].close) - 1]
        return self.bar_target_weight(data)

    def bar_target_weight(self, data: bt.DataBase) -> float:
        """``target_weight`` from this bar's sizing inputs."""
        inputs = self.sizing_inputs(data)
        if self.target_sizer is not None:
            return self.target_sizer.target_weight(inputs)
        return vol_target_weight(inputs.confidence, inputs.ex_ante_vol,
                                 risk_scale=inputs.risk_scale, share=inputs.share,
                                 **self.vol_target_rule())

    def vol_target_rule(self) -> dict[str, Any]:
        """The settings of vol_target's weight: the sizer's when it sizes to a target, else the
        strategy's own."""
        if self.target_sizer is not None:
            return self.target_sizer.vol_target_rule()
        sizing, entry = self.config.sizing, self.config.entry
        return {"target_vol": sizing.target_vol, "max_leverage": sizing.max_leverage,
                "periods_per_year": sizing.periods_per_year, "threshold": entry.threshold,
                "allow_short": entry.allow_short}

    def precompute_targets(self) -> None:
        """runonce: every bar's target weight (and regime scale) at once, from the indicators'
        finished lines (backtrader calls the strategy's ``once`` after their ``once``), equal to
        the per-bar ones to the bit (tests pin it), so that a bar reads one number.
        Only where a bar's weight is a function of its own feed's lines: vol_target, one
        traded feed (several feeds share the book as they warm up), the sizing inputs and the
        sizer's weight this class's own (a subclass's override keeps its per-bar call)."""
        self.precomputed_targets, self.precomputed_regime = {}, {}
        sizer = self.target_sizer
        if (not self.vol_target or len(self.trade_datas) != 1
                or any(getattr(type(self), name) is not getattr(Decisions, name)
                       for name in BAR_INPUTS)
                or sizer is not None
                and type(sizer).target_weight is not ConfidenceSizer.target_weight):
            return
        data = self.trade_datas[0]
        lines = self.feed_lines[data]
        columns = [np.array(line.array, dtype=np.float64)
                   for line in (lines.confidence, lines.ex_ante_vol, lines.realized_vol)]
        if len({len(column) for column in columns} | {len(lines.close.array)}) != 1:
            return  # not a preloaded run's finished lines: decide bar by bar
        confidence, sigma, realized_vol = columns
        sizing = self.config.sizing
        risk_scale: np.ndarray | float = 1.0
        if sizing.regime_filter:
            ranks = trailing_ranks(realized_vol, sizing.regime_lookback, VOL_HISTORY_MIN)
            risk_scale = np.where(ranks >= sizing.regime_quantile, sizing.regime_scale, 1.0)
            # the sizer's inputs read it too: a TrailingRank not fed every bar would catch up
            # over its whole window at each order
            self.precomputed_regime[data] = risk_scale.tolist()
        share = self.book_share()  # 1 with one feed
        weights = vol_target_weights(confidence - self.base_rate, sigma,
                                     risk_scale=risk_scale * share, share=share,
                                     **self.vol_target_rule())
        self.precomputed_targets[data] = weights.tolist()

    def held_weight(self, data: bt.DataBase) -> float:
        """The strategy's own position in this data as a signed fraction of portfolio value."""
        value = self.broker.getvalue()
        price = float(self.feed_lines[data].close[0])
        owned = self.orders.book(data).owned
        return owned * price / value if value > 0 and price > 0 else 0.0

    # -- decisions ------------------------------------------------------------------------------
    def edge(self, data: bt.DataBase) -> float:
        """This bar's confidence beyond the model's base rate (what the strategy trades)."""
        return float(self.feed_lines[data].confidence[0]) - self.base_rate

    def ready(self, data: bt.DataBase) -> bool:
        """Whether this feed's model has its first signal (its own warm-up is over)."""
        return len(data) >= self.signals[data]._minperiod

    def choose(self, data: bt.DataBase) -> tuple[str, str]:
        """Act on this bar's signal; returns (action, reason) for the decision log."""
        book = self.orders.book(data)
        if book.busy:
            return "wait", "an order is in flight"
        if book.protection_pending():
            # an exit now could race the stops: wait until they can be cancelled
            return "wait", "protective orders not yet accepted"
        edge = self.edge(data)
        if not math.isfinite(edge):
            return "wait", "no signal"
        if self.model_says_nothing:
            # a constant (the class prior's) is no signal, to open or to close a position,
            # whatever its sign and size: stops manage what such a model holds (adopted units)
            return "hold", "the model is the class prior: no signal to act on"
        if self.abstaining:
            return "hold", "abstaining: training found no evidence of an edge"
        if self.vol_target:
            return self.choose_target(data)
        entry = self.config.entry
        if not book.flat:  # what this strategy owns, not the broker's whole position
            in_favour = edge if book.owned > 0 else -edge
            if in_favour <= entry.exit_level:
                self.orders.exit(data, "signal")
                return "exit", f"edge {edge:+.3f} no longer favours the position"
            return "hold", "in position"
        if abs(edge) < entry.threshold or edge < 0 and not entry.allow_short:
            return "hold", f"edge {edge:+.3f} does not reach {entry.threshold}"
        if self.cooling_down(data):
            return "wait", "cooldown after the last exit"
        long = edge >= entry.threshold
        if self.orders.enter(data, long=long):
            return ("buy" if long else "sell"), f"edge {edge:+.3f}"
        return "hold", "the sizer gave zero units"

    def choose_target(self, data: bt.DataBase) -> tuple[str, str]:
        """vol_target: trade to the target weight when it leaves the no-trade band."""
        target = self.target_weight(data)
        if not math.isfinite(target):
            return "wait", "no ex-ante volatility yet"
        owned = self.orders.book(data).owned
        current = self.held_weight(data)
        band = self.config.sizing.rebalance_band
        if not needs_rebalance(target, current, band):
            return "hold", (f"target weight {target:+.3f}, held {current:+.3f}: "
                            f"within the band of {band:g}")
        what = f"target weight {target:+.3f}, held {current:+.3f}"
        long = target > 0
        if abs(owned) >= EPS and (abs(target) < MIN_WEIGHT or (owned > 0) != long):
            # close first: a flip enters the other side on a later bar, from flat
            self.orders.exit(data, "signal")
            return "exit", what
        if abs(owned) < EPS:
            if self.stopped_out(data, long):
                return "wait", f"{what}: cooldown after a stop on this side"
            if self.orders.enter(data, long=long):
                return ("buy" if long else "sell"), what
            return "hold", f"{what}: the sizer gave zero units"
        if not self.own_sizer:
            return "hold", f"{what}: a sizer of your own sizes positions (no rebalancing)"
        if abs(target) > abs(current):
            if self.orders.enter(data, long=long):
                return ("buy" if long else "sell"), f"{what}: increase"
        elif self.orders.reduce(data):
            return ("sell" if long else "buy"), f"{what}: reduce"
        return "hold", f"{what}: the sizer gave zero units"

    def stopped_out(self, data: bt.DataBase, long: bool) -> bool:
        """A protective order closed this side on this bar or one of the last ``cooldown``."""
        last = self.orders.book(data).last_exit
        if last is None or last.bar is None or last.reason not in PROTECTIVE_REASONS:
            return False
        side = "long" if long else "short"
        return last.side == side and len(data) - last.bar <= self.config.entry.cooldown

    def cooling_down(self, data: bt.DataBase) -> bool:
        last = self.orders.book(data).last_exit
        return (last is not None and last.bar is not None
                and len(data) - last.bar <= self.config.entry.cooldown)
