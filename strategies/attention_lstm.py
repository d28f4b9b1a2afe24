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
from bt_attention_lstm.indicators.model_signal import ModelSignal
from bt_attention_lstm.models.artifact import Artifact, load_artifact
from bt_attention_lstm.models.config import POSITION_HEADS
from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.models.features.compute import warmup_bars
from bt_attention_lstm.models.training.position import position_cv_warnings
from bt_attention_lstm.strategies.dropin_checks import (
    warn_bar_size,
    warn_short_feed,
    warn_user_sizer,
)
from bt_attention_lstm.strategies.execution.feed_roles import resolve_trade_datas
from bt_attention_lstm.strategies.execution.order_lifecycle import (
    EPS,
    PROTECTIVE_REASONS,
    OrderLifecycle,
)
from bt_attention_lstm.strategies.execution.trade_record import TradeRecord
from bt_attention_lstm.strategies.live.session import LiveSession
from bt_attention_lstm.strategies.sizing import (
    MIN_WEIGHT,
    SIZING_RULES,
    ConfidenceSizer,
    SizingInputs,
    needs_rebalance,
    vol_target_weight,
)

logger = logging.getLogger(__name__)

BAR_SIZE_SAMPLE = 60  # bars of a feed read to tell its bar size (weekends and holidays included)
VOL_TARGET = "vol_target"
# Defaults that depend on the sizing rule (the params default to None).
ENTRY_THRESHOLD = 0.2  # entry/exit rules: a classifier's edge needed to enter
VOL_TARGET_COOLDOWN = 5  # vol_target: bars before re-entering the side a stop closed


def default_sizing(artifact: Artifact) -> str:
    """"vol_target" for an artifact with a position head (long-short or long-only),
    "confidence" for a classifier.
    ``head`` is read with a default: artifacts written before position heads have none."""
    head = getattr(artifact.model_config, "head", "classify")
    return VOL_TARGET if head in POSITION_HEADS else "confidence"


def entry_threshold(artifact: Artifact, threshold: float | None, sizing: str | None) -> float:
    """The threshold a strategy with these params uses: the one given, else 0 for vol_target
    sizing and ``ENTRY_THRESHOLD`` for the entry/exit rules."""
    if threshold is not None:
        return float(threshold)
    return 0.0 if (sizing or default_sizing(artifact)) == VOL_TARGET else ENTRY_THRESHOLD


class AttentionLSTMStrategy(OrderLifecycle, LiveSession, bt.Strategy):
    """Long (and optionally short) positions sized by the model's confidence.

    For every data feed: a ``ModelSignal`` gives the confidence (p_up - p_down of a classifier;
    the position in (-1, 1) of a position head), and the strategy trades its edge: confidence
    minus the calibrated model's base rate (``Artifact.prior_confidence``, p_up - p_down of the
    training labels; 0 for a position head, an uncalibrated model or with
    ``relative_confidence=False``). Every order is a market order filled at the next bar's open
    (never on the close it was decided on). Protective orders: a stop-loss (``stop_loss``
    fraction and/or ``atr_stop`` x ATR from the first fill, the tighter one wins), a trailing
    stop (``trail_percent``) and a take-profit, placed as one OCO group for each filled part of
    an entry, and all cancelled when the position closes (no orphan orders). A model calibrated
    to the class prior (``Artifact.says_nothing``) neither opens nor closes positions on its
    constant signal; only stops close what it holds (an adopted position, say).

    Two ways to trade the edge (``sizing``; the default follows the artifact's head):

    - Entry and exit (``confidence``, ``fixed``, ``volatility``; the default for classifier
      artifacts): flat and |edge| >= threshold -> enter, sized once by the rule; exit when the
      edge no longer favours the position (``exit_threshold``). The size is never changed
      while the position is open.
    - Volatility targeting (``vol_target``; the default for a position head): every bar the
      target weight is edge x target_vol / (ex_ante_vol x sqrt(periods_per_year)) x risk,
      clipped to +-``max_leverage`` (``strategies.sizing.vol_target_weight``, on the shared
      sigma_t of ``models.portfolio.vol_targeting``, the FeatureVector's ``ex_ante_vol`` line: ta-v2
      artifacts only). The strategy trades to it when its sign differs from the held
      position's or it is more than ``rebalance_band`` (of equity) away from the held weight,
      and holds otherwise, so small changes do not pay commission every bar. A target of 0
      closes; a target on the other side closes first and the next bar enters the new side.
      An increase is an entry of the difference (its part gets its own protective group); a
      reduction cancels the protective orders, sells (buys) the difference and protects what
      stays at the same levels (stop, take-profit, and the trailing stop's current level) in
      the same bar, so no unit is ever without its stop. After a protective exit (stop,
      trailing stop, take-profit) the same side is not re-entered for ``cooldown`` bars, and
      then only if the target still says so; the other side, and re-entry after a signal
      exit, are not delayed. The entry threshold is 0 by default: the position already says
      how much to hold. With a sizer of your own (``cerebro.addsizer``) the target only opens
      and closes positions (your sizer sizes them; no rebalancing).

    Params:
      - model_path (None): artifact directory written by runners/train.py
      - artifact (None): an already loaded ``Artifact`` instead of ``model_path`` (to share one
        between strategies)
      - threshold (None): minimum |edge| to enter; None = 0.2 for the entry/exit rules, 0 for
        ``vol_target`` (below it, vol_target's target is 0)
      - exit_threshold (0.0): entry/exit rules: a position closes when the edge in its favour
        falls to or below this: by default as soon as the model no longer favours it (entries
        need ``threshold``, so the band between them keeps a position from flickering); None =
        -threshold, only on the opposite signal. Unused by ``vol_target`` (its target decides)
      - relative_confidence (True): measure the edge from the model's base rate, so that a
        model which repeats the drift of its training range does not trade it; False compares
        p_up - p_down with zero
      - max_position (0.95): cap on each data's position, as a fraction of portfolio value
        (entry/exit rules; ``vol_target`` is capped by ``max_leverage``)
      - sizing (None): "confidence" | "fixed" | "volatility" | "vol_target" (see
        strategies.sizing); None = "vol_target" for an artifact with a position head
        (``model_config.head == "position"``), "confidence" for a classifier
      - target_vol (0.15): annualised volatility target of the "volatility" and "vol_target"
        rules
      - max_leverage (1.0): ``vol_target``'s cap on the weight, as a multiple of equity (shared
        by the feeds: each holds at most its share of it). 1.0 because backtrader's default
        broker is a cash account: a weight above 1 would need borrowed money the broker does
        not lend (buys are capped by the cash anyway), and shorts are held to the same size;
        raise it only with a margin account
      - rebalance_band (0.1): ``vol_target``'s no-trade band, a fraction of equity: the
        position is only resized when the target is more than this away from the held weight
      - stop_loss (0.05): stop distance as a fraction of the entry price; None disables
      - atr_stop (None): stop distance in ATRs (the model's ATR feature x close); None disables
      - trail_percent (None): trailing stop distance as a fraction (e.g. 0.08); None disables
      - take_profit (None): take-profit distance as a fraction; None disables
      - allow_short (False): enter shorts on confidence <= -threshold
      - regime_filter (True): scale risk by ``regime_scale`` when the trailing volatility is at or
        above its ``regime_quantile`` over the last ``regime_lookback`` bars (0 = stand aside)
      - regime_lookback (252): bars of trailing volatility the regime filter ranks against
      - regime_quantile (0.9): the regime filter's turbulent quantile
      - regime_scale (0.5): risk kept in a turbulent regime (0 = stand aside)
      - min_scale (0.25): the "confidence" rule's size at the threshold, rising to 1 at
        confidence 1
      - cooldown (None): entry/exit rules: bars to wait after an exit before re-entering the
        same data; ``vol_target``: bars to wait before re-entering the side a protective order
        (stop, trail, take-profit) closed (the exit's own bar and the ``cooldown`` after it).
        None = 0 for the entry/exit rules (today's behaviour), 5 for ``vol_target``
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
      - abstain (False): open no position when the model's training found no evidence of an
        edge (a position head whose out-of-fold Sharpe was <= 0 or behind the best simple rule;
        a classifier calibrated to the prior never trades in any case); off by default, so a
        model without an edge trades and its reports say so

    Live feeds (``islive()``): orders only on bars the feed reports LIVE, never on DELAYED
    backfill or after CONNBROKEN/DISCONNECTED until LIVE again; features and the model warm up
    on backfill. Every broker order event (partial fills, rejections, margin, cancels,
    expiries) is handled: see ``strategies.execution.order_lifecycle``. ``replaydata`` is refused.

    With several feeds, each data's cap is its equal-risk share (inverse trailing volatility,
    normalised to sum to one over the traded feeds already warmed up) but never more than
    ``max_position``. Each feed trades from its own warm-up (``prenext``): a feed that starts
    later does not hold the others back. A sizer set with ``cerebro.addsizer`` replaces the
    plugin's sizing (a WARNING says so); a feed too short for the model, or with another bar
    size than the model's, gets a WARNING too. ``equity_times``/``equity_values`` hold the
    portfolio value after every bar (``equity_curve`` as (datetime, value) pairs), for
    ``reports.report_from_strategy``.
    """

    params = (
        ("model_path", None),
        ("artifact", None),
        ("threshold", None),
        ("exit_threshold", 0.0),
        ("relative_confidence", True),
        ("max_position", 0.95),
        ("sizing", None),
        ("target_vol", 0.15),
        ("max_leverage", 1.0),
        ("rebalance_band", 0.1),
        ("stop_loss", 0.05),
        ("atr_stop", None),
        ("trail_percent", None),
        ("take_profit", None),
        ("allow_short", False),
        ("regime_filter", True),
        ("regime_lookback", 252),
        ("regime_quantile", 0.9),
        ("regime_scale", 0.5),
        ("cooldown", None),
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
        ("abstain", False),
    )

    def __init__(self) -> None:
        if self.p.artifact is None and not self.p.model_path:
            raise ConfigError("AttentionLSTMStrategy needs model_path (an artifact directory)")
        self.artifact: Artifact = self.p.artifact or load_artifact(self.p.model_path)
        # The params left at None take the defaults of the sizing rule (the artifact's head).
        self.sizing: str = self.p.sizing or default_sizing(self.artifact)
        self.vol_target = self.sizing == VOL_TARGET
        self.threshold: float = entry_threshold(self.artifact, self.p.threshold, self.p.sizing)
        self.cooldown: int = (self.p.cooldown if self.p.cooldown is not None
                              else (VOL_TARGET_COOLDOWN if self.vol_target else 0))
        self._check_params()
        # the edge in a position's favour at or below which it closes (entry/exit rules)
        self._exit_level = (-self.threshold if self.p.exit_threshold is None
                            else float(self.p.exit_threshold))
        self.base_rate = self.artifact.prior_confidence if self.p.relative_confidence else 0.0
        # the training CV's verdict lines when the user asked to abstain without an edge
        cv = self.artifact.meta.get("cv", {})
        self.abstaining: list[str] = (
            position_cv_warnings(cv) if self.p.abstain and isinstance(cv, dict) else []
        )
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
                threshold=self.threshold,
                base_rate=self.base_rate,
                features=self.features[data],
            )
        self.setsizer(
            ConfidenceSizer(
                threshold=self.threshold,
                max_position=self.p.max_position,
                sizing=self.sizing,
                target_vol=self.p.target_vol,
                min_scale=self.p.min_scale,
                max_leverage=self.p.max_leverage,
                periods_per_year=self.p.periods_per_year,
                allow_short=self.p.allow_short,
            )
        )
        self._own_sizer = True  # set in start(): cerebro.addsizer replaces it after __init__
        self._init_lifecycle()  # order bookkeeping (strategies.execution.order_lifecycle)
        self._init_live()  # gate, decision log, state (strategies.live.session)
        self.trades: list[TradeRecord] = []
        self.bars_in_market = 0
        self.bars_seen = 0
        # Portfolio value after every bar, as backtrader float datetimes: 16 bytes a bar.
        self.equity_times = array("d")
        self.equity_values = array("d")
        self._bar_size_checked: set[int] = set()

    def _check_params(self) -> None:
        p = self.p
        if self.sizing not in SIZING_RULES:
            raise ConfigError(
                f"sizing must be one of {', '.join(SIZING_RULES)}, got {self.sizing!r}"
            )
        threshold = self.threshold
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"threshold must be in [0, 1], got {threshold}")
        if (not self.vol_target and p.exit_threshold is not None
                and not -threshold <= p.exit_threshold <= threshold):
            raise ConfigError(
                f"exit_threshold must be in [-threshold, threshold], got {p.exit_threshold}"
            )
        if not 0.0 < p.max_position <= 1.0:
            raise ConfigError(f"max_position must be in (0, 1], got {p.max_position}")
        if not p.max_leverage > 0:
            raise ConfigError(f"max_leverage must be positive, got {p.max_leverage}")
        if not 0.0 <= p.rebalance_band < 1.0:
            raise ConfigError(f"rebalance_band must be in [0, 1), got {p.rebalance_band}")
        if isinstance(self.cooldown, bool) or not isinstance(self.cooldown, int) \
                or self.cooldown < 0:
            raise ConfigError(f"cooldown must be a non-negative integer, got {self.cooldown!r}")
        if self.vol_target and "ex_ante_vol" not in self.artifact.feature_spec.line_names:
            raise ConfigError(
                f"sizing='vol_target' needs the ex-ante volatility of the ta-v2 features; this "
                f"model uses {self.artifact.feature_spec.feature_set!r}: choose another sizing "
                "or retrain the model"
            )
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
        sizer = self.getsizer()
        warn_user_sizer(sizer, ConfidenceSizer)
        # vol_target resizes positions through its own sizer only: another sizer cannot size
        # a difference, so with it the target just opens and closes positions.
        self._own_sizer = isinstance(sizer, ConfidenceSizer) and sizer.p.sizing == self.sizing
        if self.vol_target:
            logger.info(
                "volatility targeting: %.0f%% a year, leverage <= %g, rebalance band %g, "
                "cooldown %d bars after a stop", 100 * self.p.target_vol, self.p.max_leverage,
                self.p.rebalance_band, self.cooldown,
            )
        if self.base_rate:
            logger.info("trading the edge over the model's base rate p_up - p_down = %+.3f",
                        self.base_rate)
        if self.abstaining:
            logger.warning(
                "abstaining: the training of model %s found no evidence of an edge (%s); no "
                "position will be opened", self.artifact.path, "; ".join(self.abstaining),
            )
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

    def _book_share(self) -> float:
        """vol_target's equal share of the book for each warmed-up feed (1 with one feed):
        the weights are already scaled to equal volatility, so no inverse-volatility split."""
        if len(self.trade_datas) == 1:
            return 1.0
        return 1.0 / max(1, sum(1 for d in self.trade_datas if self._ready(d)))

    def sizing_inputs(self, data: bt.DataBase) -> SizingInputs:
        if self.vol_target:
            share = self._book_share()
            return SizingInputs(
                confidence=self._edge(data),
                annual_vol=self._annual_vol(data),
                risk_scale=self._regime_scale(data) * share,
                ex_ante_vol=float(self.features[data].ex_ante_vol[0]),
                held=self._owned[data],
                share=share,
            )
        return SizingInputs(
            confidence=self._edge(data),
            annual_vol=self._annual_vol(data),
            risk_scale=self._regime_scale(data) * self._risk_share(data),
            held=self._owned[data],
        )

    def target_weight(self, data: bt.DataBase) -> float:
        """vol_target's signed target weight for this bar (NaN while undefined): the sizer's,
        so that the decision to trade and the order's size agree."""
        inputs = self.sizing_inputs(data)
        sizer = self.getsizer()
        if isinstance(sizer, ConfidenceSizer) and sizer.p.sizing == VOL_TARGET:
            return sizer.target_weight(inputs)
        return vol_target_weight(
            inputs.confidence, inputs.ex_ante_vol, target_vol=self.p.target_vol,
            max_leverage=self.p.max_leverage, periods_per_year=self.p.periods_per_year,
            risk_scale=inputs.risk_scale, share=inputs.share, threshold=self.threshold,
            allow_short=self.p.allow_short,
        )

    def held_weight(self, data: bt.DataBase) -> float:
        """The strategy's own position in this data as a signed fraction of portfolio value."""
        value = self.broker.getvalue()
        price = float(data.close[0])
        return self._owned[data] * price / value if value > 0 and price > 0 else 0.0

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
        settled = self._settle_protection(data)  # before any check: protection is never gated
        if settled:
            action, reason = settled, "a reduction died: the units it left are protected"
        else:
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
        if self.abstaining:
            return "hold", "abstaining: training found no evidence of an edge"
        if self.vol_target:
            return self._choose_target(data)
        size = self._owned[data]  # what this strategy owns, not the broker's whole position
        if size != 0:
            in_favour = edge if size > 0 else -edge
            if in_favour <= self._exit_level:
                self._exit(data, "signal")
                return "exit", f"edge {edge:+.3f} no longer favours the position"
            return "hold", "in position"
        threshold = self.threshold
        if abs(edge) < threshold or edge < 0 and not self.p.allow_short:
            return "hold", f"edge {edge:+.3f} does not reach {threshold}"
        if self._cooling_down(data):
            return "wait", "cooldown after the last exit"
        long = edge >= threshold
        if self._enter(data, long=long):
            return ("buy" if long else "sell"), f"edge {edge:+.3f}"
        return "hold", "the sizer gave zero units"

    def _choose_target(self, data: bt.DataBase) -> tuple[str, str]:
        """vol_target: trade to the target weight when it leaves the no-trade band."""
        target = self.target_weight(data)
        if not math.isfinite(target):
            return "wait", "no ex-ante volatility yet"
        owned = self._owned[data]
        current = self.held_weight(data)
        what = f"target weight {target:+.3f}, held {current:+.3f}"
        if not needs_rebalance(target, current, self.p.rebalance_band):
            return "hold", f"{what}: within the band of {self.p.rebalance_band:g}"
        long = target > 0
        if abs(owned) >= EPS and (abs(target) < MIN_WEIGHT or (owned > 0) != long):
            # close first: a flip enters the other side on a later bar, from flat
            self._exit(data, "signal")
            return "exit", what
        if abs(owned) < EPS:
            if self._stopped_out(data, long):
                return "wait", f"{what}: cooldown after a stop on this side"
            if self._enter(data, long=long):
                return ("buy" if long else "sell"), what
            return "hold", f"{what}: the sizer gave zero units"
        if not self._own_sizer:
            return "hold", f"{what}: a sizer of your own sizes positions (no rebalancing)"
        if abs(target) > abs(current):
            if self._enter(data, long=long):
                return ("buy" if long else "sell"), f"{what}: increase"
        elif self._reduce(data):
            return ("sell" if long else "buy"), f"{what}: reduce"
        return "hold", f"{what}: the sizer gave zero units"

    def _stopped_out(self, data: bt.DataBase, long: bool) -> bool:
        """A protective order closed this side on this bar or one of the last ``cooldown``."""
        last = self._last_exit_bar.get(data)
        if last is None or self._last_exit_reason.get(data) not in PROTECTIVE_REASONS:
            return False
        side = "long" if long else "short"
        return self._last_exit_side.get(data) == side and len(data) - last <= self.cooldown

    def _cooling_down(self, data: bt.DataBase) -> bool:
        last = self._last_exit_bar.get(data)
        return last is not None and len(data) - last <= self.cooldown

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
            # Reductions already sold part of it: the rest is valued at the last close.
            tally = self._exits[data]
            tally.add(abs(self._owned[data]), float(data.close[0]))
            record.exit_price = tally.price
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
