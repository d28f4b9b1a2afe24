"""FeatureVector: the features of ``compute_features`` as backtrader lines."""

from __future__ import annotations

import array

import backtrader as bt
import numpy as np

from bt_attention_lstm.indicators.features import DEFAULT_SPEC, feature_matrix, warmup_bars
from bt_attention_lstm.indicators.run_guards import refuse_exactbars
from bt_attention_lstm.models.feature_spec import FEATURE_NAMES


def line_values(line: bt.LineSeries, end: int) -> np.ndarray:
    """The first ``end`` values of a preloaded line as float64 (a copy)."""
    return np.asarray(line.array[:end], dtype=np.float64)


def write_line(line: bt.LineSeries, start: int, values: np.ndarray) -> None:
    """Write ``values`` into a line's buffer from index ``start`` (runonce mode)."""
    line.array[start : start + len(values)] = array.array(
        "d", np.ascontiguousarray(values, dtype=np.float64).tobytes()
    )


class FeatureVector(bt.Indicator):
    """The trading-side twin of ``indicators.compute_features``: one line per feature.

    Formula: exactly ``compute_features`` (TA-Lib), bar for bar, in every run mode.

    - runonce: ``once`` runs the feature code over the preloaded arrays up to ``end``; TA-Lib is
      causal, so bar i only ever sees bars <= i.
    - next mode, ``preload=False`` and live: ``next`` runs the same code over the trailing
      ``spec.next_history`` bars and keeps the last row. Unstable-period smoothing (Wilder, EMA)
      has forgotten its seed long before that, so the values match the full-history ones.

    minperiod is ``warmup_bars(spec) + 1``: the first bar with every feature defined.

    The lines are every feature this code knows. A spec fills ``spec.line_names`` (ta-v2: all;
    ta-v1: its own 15, the first lines) and leaves the others NaN. ``model_lines`` are the
    lines the model reads (``spec.names``), in order.
    """

    alias = ("Features",)
    lines = FEATURE_NAMES
    params = (("spec", DEFAULT_SPEC),)
    plotinfo = dict(plot=False)

    def __init__(self) -> None:
        refuse_exactbars(self)
        self.addminperiod(warmup_bars(self.p.spec) + 1)
        spec = self.p.spec
        self.spec_lines = [getattr(self.lines, name) for name in spec.line_names]
        self.model_lines = [getattr(self.lines, name) for name in spec.names]

    def _ohlcv(self, end: int | None = None, size: int | None = None) -> list[np.ndarray]:
        d = self.data
        src = (d.open, d.high, d.low, d.close, d.volume)
        if size is not None:
            return [np.asarray(line.get(size=size), dtype=np.float64) for line in src]
        return [line_values(line, end) for line in src]

    def next(self) -> None:
        spec = self.p.spec
        d = self.data
        size = min(len(d), spec.next_history)
        # line.get is a C-level slice of backtrader's array.array, and np.asarray wraps it
        # without another copy. Open is not a feature input; TA-Lib still sees the whole trailing
        # history, only the last row's arithmetic is done.
        high, low, close, volume = (
            np.asarray(line.get(size=size), dtype=np.float64)
            for line in (d.high, d.low, d.close, d.volume)
        )
        last_row = feature_matrix(
            close, high, low, close, volume, spec=spec, last=1, names=spec.line_names
        )[0]
        for line, value in zip(self.spec_lines, last_row.tolist(), strict=True):
            line[0] = value

    def once(self, start: int, end: int) -> None:
        spec = self.p.spec
        matrix = feature_matrix(*self._ohlcv(end=end), spec=spec, names=spec.line_names)
        for j, line in enumerate(self.spec_lines):
            write_line(line, start, matrix[start:end, j])
