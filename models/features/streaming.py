"""The features of ``models.features.compute.feature_matrix``, one bar at a time, O(1) a bar.

``StreamingFeatures.update(high, low, close, volume)`` returns the row that
``feature_matrix(..., names=spec.line_names)`` gives the same bar over the whole history so
far, for the per-bar path of ``FeatureVector`` (next mode, ``preload=False``, live). Every TA-Lib
indicator keeps its own state (``models.features.ta_stream``, bit for bit what the Function API
computes); the per-row arithmetic below is ``_raw_matrix``'s, operation for operation:

- ret_h = ln C_t - ln C_{t-h}; hl_range = ln(H/L); sma_gap_50 = ln C - ln SMA_50(C)
- rsi_14 = RSI/100 - 0.5; adx_14 = ADX/100; di_spread = (+DI - -DI)/100; willr = %R/100 + 0.5
- macd_hist = MACD hist / C; atr_ratio = ATR/C; realized_vol_20 = STDDEV_20(r)
- bb_pctb = (C - lower)/(upper - lower) - 0.5; close_location = (C - L)/(H - L) - 0.5
- volume_z_20 = (ln(1+V) - SMA_20)/STDDEV_20 of ln(1+V)
- ta-v2: sigma = sqrt(EMA_60(r^2)) (``ex_ante_vol``); nret_h = ret_h/(sigma sqrt h);
  trend_s_l = q/STDDEV_252(q), q = (EMA_s(C) - EMA_l(C))/STDDEV_63(C)

with each ratio 0 where its denominator is flat (``features._FLAT_STD``) and NaN where an operand
is, and the whole row NaN before ``warmup_bars(spec)``. Logarithms are numpy's, as in the
batched path. Only the last 253 log closes are kept, plus a few hundred bars of history per
TA-Lib indicator until its handle opens.
"""

from __future__ import annotations

import math

import numpy as np

from bt_attention_lstm.models.features.compute import _FLAT_STD, DEFAULT_SPEC, warmup_bars
from bt_attention_lstm.models.features.spec import (
    RETURN_HORIZONS,
    TREND_SPANS,
    V1_FEATURE_NAMES,
    V2_FEATURE_NAMES,
    V2_STRATEGY_LINES,
    FeatureSpec,
)
from bt_attention_lstm.models.features.ta_stream import TaStream

_NAN = float("nan")
_INF = float("inf")


def _div(num: float, den: float) -> float:
    """num / den with numpy's answers for a zero denominator (inf or NaN, never an error)."""
    if den != 0.0:
        return num / den
    if num != num or num == 0.0:
        return _NAN
    return math.copysign(_INF, num) * math.copysign(1.0, den)


def _safe_ratio(num: float, den: float, flat_den: bool) -> float:
    """features._safe_ratio for one value: NaN if an operand is, 0 where den is flat."""
    if num != num or den != den:
        return _NAN
    return 0.0 if flat_den else _div(num, den)


def _log(x: float) -> float:
    """numpy's natural log of one value (numpy's, bit for bit, as the batched path)."""
    return float(np.log(x))


def _sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0.0 else _NAN  # correctly rounded, as np.sqrt


class _Trend:
    """One Baz trend oscillator: q = (EMA_s - EMA_l)/STDDEV_63(C), then q/STDDEV_252(q)."""

    __slots__ = ("fast", "norm", "slow")

    def __init__(self, short: int, long: int, spec: FeatureSpec) -> None:
        self.fast = TaStream("EMA", timeperiod=short)
        self.slow = TaStream("EMA", timeperiod=long)
        self.norm = TaStream("STDDEV", timeperiod=spec.trend_norm, nbdev=1.0)

    def update(self, c: float, price_std: float) -> float:
        q = _safe_ratio(
            self.fast.update(c) - self.slow.update(c), price_std, price_std <= _FLAT_STD * c
        )
        q_std = self.norm.update(q)
        return _safe_ratio(q, q_std, q_std <= _FLAT_STD)

    def copy(self) -> _Trend:
        twin = _Trend.__new__(_Trend)
        twin.fast, twin.slow, twin.norm = self.fast.copy(), self.slow.copy(), self.norm.copy()
        return twin


class StreamingFeatures:
    """Per-bar twin of ``feature_matrix(..., names=spec.line_names)``.

    ``update`` feeds the next bar and returns its row (a list in ``spec.line_names`` order);
    ``bars`` counts the bars fed; ``copy`` forks the whole state (a forming bar can then be
    recomputed from the state before it).
    """

    def __init__(self, spec: FeatureSpec = DEFAULT_SPEC) -> None:
        self.spec = spec
        self.bars = 0
        self._warmup = warmup_bars(spec)
        self._trend = spec.has_trend_features
        self._horizons = RETURN_HORIZONS if self._trend else ()
        self._lag = max((20, *self._horizons)) + 1  # ring of log closes: lags up to 252
        self._log_c: list[float] = [_NAN] * self._lag
        self._root_h = [(h, math.sqrt(h)) for h in self._horizons]
        computed = V1_FEATURE_NAMES + (V2_FEATURE_NAMES + V2_STRATEGY_LINES if self._trend else ())
        names = spec.line_names
        self._n = len(names)
        # update builds rows in ``computed`` order; line_names is that order (else a pick list)
        self._pick = None if names == computed else [computed.index(n) for n in names]
        self._open_streams(spec)

    def _open_streams(self, spec: FeatureSpec) -> None:
        self.rsi = TaStream("RSI", timeperiod=spec.rsi_period)
        self.macd = TaStream(
            "MACD",
            n_outputs=3,
            fastperiod=spec.macd_fast,
            slowperiod=spec.macd_slow,
            signalperiod=spec.macd_signal,
        )
        self.atr = TaStream("ATR", timeperiod=spec.atr_period)
        self.bbands = TaStream(
            "BBANDS",
            n_outputs=3,
            timeperiod=spec.bb_period,
            nbdevup=spec.bb_dev,
            nbdevdn=spec.bb_dev,
            matype=0,
        )
        self.adx = TaStream("ADX", timeperiod=spec.adx_period)
        self.plus_di = TaStream("PLUS_DI", timeperiod=spec.adx_period)
        self.minus_di = TaStream("MINUS_DI", timeperiod=spec.adx_period)
        self.realized_vol = TaStream("STDDEV", timeperiod=spec.vol_period, nbdev=1.0)
        self.vol_mean = TaStream("SMA", timeperiod=spec.volume_period)
        self.vol_std = TaStream("STDDEV", timeperiod=spec.volume_period, nbdev=1.0)
        self.sma = TaStream("SMA", timeperiod=spec.sma_period)
        self.willr = TaStream("WILLR", timeperiod=spec.willr_period)
        if self._trend:
            self.ewm_var = TaStream("EMA", timeperiod=spec.ewm_vol_span)
            self.price_std = TaStream("STDDEV", timeperiod=spec.trend_price_std, nbdev=1.0)
            self.trends = [_Trend(s, lg, spec) for s, lg in TREND_SPANS]

    def _log_return(self, log_c: float, lag: int) -> float:
        """ln C_t - ln C_{t-lag} at bar t = ``bars`` (NaN while t < lag), before ``update``
        counts bar t."""
        t = self.bars
        if t < lag:
            return _NAN
        return log_c - self._log_c[(t - lag) % self._lag]

    def update(self, h: float, lo: float, c: float, v: float) -> list[float]:
        """Feed bar t = ``bars`` (high, low, close, volume); return its feature row."""
        t = self.bars
        log_c = _log(c)
        self._log_c[t % self._lag] = log_c
        r = self._log_return(log_c, 1)
        log_v = float(np.log1p(max(v, 0.0)))
        _, _, macd_hist = self.macd.update(c)
        upper, _, lower = self.bbands.update(c)
        atr = self.atr.update(h, lo, c)
        adx = self.adx.update(h, lo, c)
        plus_di = self.plus_di.update(h, lo, c)
        minus_di = self.minus_di.update(h, lo, c)
        rsi = self.rsi.update(c)
        realized_vol = self.realized_vol.update(r)
        vol_mean = self.vol_mean.update(log_v)
        vol_std = self.vol_std.update(log_v)
        sma = self.sma.update(c)
        willr = self.willr.update(h, lo, c)
        trend = self._trend_values(c, log_c, r) if self._trend else []
        ret_5, ret_20 = self._log_return(log_c, 5), self._log_return(log_c, 20)
        self.bars = t + 1
        if t < self._warmup:
            return [_NAN] * self._n
        band = upper - lower
        hl = h - lo
        flat_bar = hl <= 0.0
        row = [  # V1_FEATURE_NAMES, in order
            r,  # ret_1
            ret_5,
            ret_20,
            rsi / 100.0 - 0.5,  # rsi_14
            _div(macd_hist, c),  # macd_hist
            _div(atr, c),  # atr_ratio
            _safe_ratio(c - lower, band, band <= _FLAT_STD * c) - 0.5,  # bb_pctb
            adx / 100.0,  # adx_14
            (plus_di - minus_di) / 100.0,  # di_spread
            realized_vol,  # realized_vol_20
            _safe_ratio(log_v - vol_mean, vol_std, vol_std <= _FLAT_STD * (1.0 + vol_mean)),
            _log(_div(h, lo)),  # hl_range
            _safe_ratio(c - lo, hl, flat_bar) - (0.0 if flat_bar else 0.5),  # close_location
            log_c - _log(sma),  # sma_gap_50
            willr / 100.0 + 0.5,  # willr_14
        ]
        row += trend
        return row if self._pick is None else [row[i] for i in self._pick]

    def _trend_values(self, c: float, log_c: float, r: float) -> list[float]:
        """ta-v2 at bar ``bars`` (not yet counted): nret_* (RETURN_HORIZONS), trend_* (TREND_SPANS)
        and ex_ante_vol, in that order."""
        sigma = _sqrt(self.ewm_var.update(r * r))
        flat_sigma = sigma <= _FLAT_STD
        out = [
            _safe_ratio(self._log_return(log_c, h), sigma * root_h, flat_sigma)
            for h, root_h in self._root_h
        ]
        price_std = self.price_std.update(c)
        out += [trend.update(c, price_std) for trend in self.trends]
        out.append(sigma)
        return out

    def copy(self) -> StreamingFeatures:
        """An independent twin at the same bar."""
        twin = StreamingFeatures.__new__(StreamingFeatures)
        for key, value in self.__dict__.items():
            if isinstance(value, TaStream | _Trend):
                value = value.copy()
            elif key == "trends":
                value = [trend.copy() for trend in value]
            elif key == "_log_c":
                value = list(value)
            setattr(twin, key, value)
        return twin
