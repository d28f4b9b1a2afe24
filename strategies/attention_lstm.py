"""AttentionLSTMStrategy: trades the AttentionLSTM's confidence with sizing, stops and risk."""

from __future__ import annotations

import logging
from array import array
from collections.abc import Callable
from datetime import datetime
from typing import Any

import backtrader as bt

from bt_attention_lstm.indicators.feature_vector import FeatureVector
from bt_attention_lstm.indicators.model_signal import ModelSignal
from bt_attention_lstm.models.artifact import Artifact, load_artifact
from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.models.features.compute import warmup_bars
from bt_attention_lstm.models.training.position import position_cv_warnings
from bt_attention_lstm.strategies.config import (
    PARAMS,
    StrategyConfig,
    default_sizing,
    entry_threshold,
)
from bt_attention_lstm.strategies.decisions import Decisions
from bt_attention_lstm.strategies.dropin_checks import (
    warn_short_feed,
    warn_timeframe,
    warn_user_sizer,
)
from bt_attention_lstm.strategies.execution.feed_book import FeedBook
from bt_attention_lstm.strategies.execution.feed_roles import feed_name, resolve_trade_datas
from bt_attention_lstm.strategies.execution.order_manager import OrderManager
from bt_attention_lstm.strategies.execution.trade_record import TradeRecord
from bt_attention_lstm.strategies.feed_lines import FeedLines
from bt_attention_lstm.strategies.live.decision_log import DecisionLog
from bt_attention_lstm.strategies.live.session import LiveSession
from bt_attention_lstm.strategies.sizing import ConfidenceSizer
from bt_attention_lstm.strategies.trailing_rank import TrailingRank

logger = logging.getLogger(__name__)

TIMEFRAME_SAMPLE = 60  # bars of a feed read to tell its timeframe (weekends and holidays included)
__all__ = ["AttentionLSTMStrategy", "default_sizing", "entry_threshold"]


class AttentionLSTMStrategy(Decisions, bt.Strategy):
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
    expiries) is handled: see ``strategies.execution.order_manager``; a partial fill of an exit,
    a reduction or a take-profit places the stop for the units it has left in the same
    notification, so the broker never holds fewer stop units than the position. ``replaydata``
    is refused.

    Restart (``state_path``): on each feed's first tradable bar the state file is settled
    against the broker's account by one rule: the broker is the truth for positions and open
    orders, the state file only for what the broker cannot know (which units are the
    strategy's, the trade's entry, the protective levels, the cooldown). A saved position the
    broker no longer holds is forgotten (a WARNING names the state file and both sizes); the
    broker's open orders that the state file names are re-attached (their fills are counted
    and no second stop is placed beside them); see ``strategies.execution.restart``.

    With several feeds, each data's cap is its equal-risk share (inverse trailing volatility,
    normalised to sum to one over the traded feeds already warmed up) but never more than
    ``max_position``. Each feed trades from its own warm-up (``prenext``): a feed that starts
    later does not hold the others back. A sizer set with ``cerebro.addsizer`` replaces the
    plugin's sizing (a WARNING says so); a feed too short for the model, or with another bar
    size than the model's, gets a WARNING too. ``equity_times``/``equity_values`` hold the
    portfolio value after every bar (``equity_curve`` as (datetime, value) pairs), for
    ``reports.report_from_strategy``.
    """

    params = PARAMS

    def __init__(self) -> None:
        if self.p.artifact is None and not self.p.model_path:
            raise ConfigError("AttentionLSTMStrategy needs `model_path` (an artifact directory)")
        self.artifact: Artifact = self.p.artifact or load_artifact(self.p.model_path)
        # Read once: the params left at None take the defaults of the artifact's head.
        self.config = StrategyConfig.from_params(dict(self.p._getkwargs()), self.artifact)
        self.sizing: str = self.config.sizing.rule
        self.vol_target = self.config.sizing.vol_target
        self.threshold: float = self.config.entry.threshold
        self.cooldown: int = self.config.entry.cooldown
        self.base_rate = (self.artifact.prior_confidence if self.config.entry.relative_confidence
                          else 0.0)
        # the training CV's verdict lines when the user asked to abstain without an edge
        cv = self.artifact.meta.get("cv", {})
        self.abstaining: list[str] = (
            position_cv_warnings(cv) if self.config.entry.abstain and isinstance(cv, dict)
            else []
        )
        self.trade_datas: list[bt.DataBase] = resolve_trade_datas(self.datas, self.p.trade_datas)
        self.features: dict[bt.DataBase, FeatureVector] = {}
        self.signals: dict[bt.DataBase, ModelSignal] = {}
        self.regime_ranks = {
            data: TrailingRank(self.config.sizing.regime_lookback) for data in self.trade_datas
        }
        # backtrader's metaclass takes the indicators' params as keywords (their __init__ does not)
        new_features: Callable[..., FeatureVector] = FeatureVector
        new_signal: Callable[..., ModelSignal] = ModelSignal
        for data in self.trade_datas:
            # The strategy owns the FeatureVector (it reads ATR and volatility from it) and
            # lends it to ModelSignal, so features are computed once per data.
            self.features[data] = new_features(data, spec=self.artifact.feature_spec)
            self.signals[data] = new_signal(
                data, artifact=self.artifact, device=self.p.device,
                batch_size=self.p.batch_size, threads=self.p.threads, threshold=self.threshold,
                base_rate=self.base_rate, features=self.features[data],
            )
        self.feed_lines = {
            data: FeedLines.of(data, self.features[data], self.signals[data])
            for data in self.trade_datas
        }
        sizing = self.config.sizing
        self.setsizer(ConfidenceSizer(
            threshold=self.threshold, max_position=sizing.max_position, sizing=self.sizing,
            target_vol=sizing.target_vol, min_scale=sizing.min_scale,
            max_leverage=sizing.max_leverage, periods_per_year=sizing.periods_per_year,
            allow_short=self.config.entry.allow_short,
        ))
        self.own_sizer = True  # set in start(): cerebro.addsizer replaces it after __init__
        # the sizer whose target weight vol_target trades to (None: the config's rule)
        self.target_sizer: ConfidenceSizer | None = None
        # runonce: filled by once() (see precompute_targets)
        self.precomputed_targets, self.precomputed_regime = {}, {}
        warmup = max((s._minperiod for s in self.signals.values()), default=0)
        self.decisions = DecisionLog(self.config.live.decision_log)
        self.live = LiveSession(self.config.live, self.datas, warmup, self.decisions)
        self.orders = OrderManager(self, self.datas, self.config.risk, self._atr,
                                   self.live.event)
        self.live.restore(self.orders, self.artifact.weights_sha256)
        self.bars_in_market = 0
        self.bars_seen = 0
        # Portfolio value after every bar, as backtrader float datetimes: 16 bytes a bar.
        self.equity_times = array("d")
        self.equity_values = array("d")
        # feeds whose bar spacing is still to be checked against the model's (each once)
        self._timeframe_pending: list[bt.DataBase] = list(self.trade_datas)
        # read every bar: resolved once (backtrader resolves attributes through __getattr__)
        self.model_says_nothing = self.artifact.says_nothing
        self._model_sha256 = self.artifact.weights_sha256
        self._datetime_line = self.lines.datetime
        self._trade_start = self.config.entry.trade_start
        self._all_ready = False  # every traded feed past its warm-up (it stays so)

    # -- public views --------------------------------------------------------------------------
    @property
    def trades(self) -> list[TradeRecord]:
        """Closed trades, then (after the run) the ones still open, exit_reason "open"."""
        return self.orders.trades

    @property
    def gate(self) -> Any:
        """The live feeds' ``FeedGate`` (status per feed)."""
        return self.live.gate

    @property
    def state_store(self) -> Any:
        return self.live.state_store

    def book(self, data: bt.DataBase) -> FeedBook:
        """The feed's ``FeedBook``: what the strategy owns in it, its orders in flight."""
        return self.orders.book(data)

    def owned(self, data: bt.DataBase) -> float:
        """Units of ``data`` the strategy itself holds (never the broker's whole position)."""
        return self.orders.book(data).owned

    def order_role(self, ref: int) -> str | None:
        """What an order is for: "entry", "exit", "reduce", "protective", "guard"; None when
        it is not this strategy's."""
        return self.orders.role(ref)

    def _atr(self, data: bt.DataBase) -> float:
        lines = self.feed_lines[data]
        return float(lines.atr_ratio[0] * lines.close[0])

    # -- backtrader hooks ----------------------------------------------------------------------
    def start(self) -> None:
        if self.env.p.exactbars:
            raise ConfigError(
                f"exactbars={self.env.p.exactbars} is not supported: run Cerebro with exactbars=0"
            )
        sizer = self.getsizer()
        warn_user_sizer(sizer, ConfidenceSizer)
        # vol_target resizes positions through its own sizer only: another sizer cannot size
        # a difference, so with it the target just opens and closes positions.
        self.own_sizer = isinstance(sizer, ConfidenceSizer) and sizer.p.sizing == self.sizing
        self.target_sizer = (sizer if isinstance(sizer, ConfidenceSizer)
                             and sizer.p.sizing == "vol_target" else None)
        sizing = self.config.sizing
        if self.vol_target:
            logger.info(
                "volatility targeting: %.0f%% a year, leverage <= %g, rebalance band %g, "
                "cooldown %d bars after a stop", 100 * sizing.target_vol, sizing.max_leverage,
                sizing.rebalance_band, self.cooldown,
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

    def once(self, start: int, end: int) -> None:
        # runonce only: backtrader calls it once the indicators have filled their lines
        self.precompute_targets()

    def notify_order(self, order: bt.Order) -> None:
        self.orders.notify_order(order)

    def notify_data(self, data: bt.DataBase, status: int, *args: object, **kwargs: object) -> None:
        self.live.gate.update(data, status)

    def prenext(self) -> None:
        # backtrader waits for every feed's warm-up before next(); each feed trades from its own.
        self.next()

    def _check_timeframes(self) -> None:
        """Once per feed, as soon as its bar spacing can be told (or its model is ready)."""
        # A new list, not list.remove: a feed's == builds a backtrader line operation.
        pending = []
        for data in self._timeframe_pending:
            if len(data) >= min(self.signals[data]._minperiod, TIMEFRAME_SAMPLE):
                warn_timeframe(data, self.artifact.meta)
            else:
                pending.append(data)
        self._timeframe_pending = pending

    def next(self) -> None:
        self.equity_times.append(self._datetime_line[0])
        self.equity_values.append(self.broker.getvalue())
        if self._timeframe_pending:
            self._check_timeframes()
        trade_start = self._trade_start
        if trade_start is not None and self._datetime_line.datetime(0) < trade_start:
            return
        if self._all_ready:
            ready = self.trade_datas
        else:
            ready = [d for d in self.trade_datas if self.ready(d)]
            if not ready:
                return
            self._all_ready = len(ready) == len(self.trade_datas)
        self.bars_seen += 1
        getposition = self.broker.getposition
        for d in self.trade_datas:
            if getposition(d).size:
                self.bars_in_market += 1
                break
        for data in ready:
            self._decide(data)

    def _decide(self, data: bt.DataBase) -> None:
        settled = self.orders.settle(data)  # before any check: protection is never gated
        if settled:
            action, reason = settled, "a reduction died: the units it left are protected"
        else:
            action, reason = (self.live.checks(self.orders, data, self.broker)
                              or self.choose(data))
        if self.decisions.active:
            signal = self.signals[data]
            probs = (float(signal.p_down[0]), float(signal.p_flat[0]), float(signal.p_up[0]))
            self.decisions.decision(data.datetime.datetime(0), feed_name(data),
                                    self.live.gate.status(data), probs, action, reason,
                                    self.base_rate)
        self.live.save(self.orders, self._model_sha256)

    def stop(self) -> None:
        """Record positions still open at the end, valued at the last close."""
        self.live.end(self.orders, self.artifact.weights_sha256)  # a restart resumes from it
        warmup, seq_len = warmup_bars(self.artifact.feature_spec), self.artifact.seq_len
        for data in self.trade_datas:
            warn_short_feed(data, self.signals[data]._minperiod, warmup, seq_len)
        self.orders.close_open_trades()

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
