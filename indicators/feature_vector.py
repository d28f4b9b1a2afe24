"""FeatureVector: the features of ``compute_features`` as backtrader lines."""

from __future__ import annotations

import array
import logging
from collections.abc import Iterable

import backtrader as bt
import numpy as np

from bt_attention_lstm.indicators.bar_follower import BarFollower
from bt_attention_lstm.indicators.run_guards import refuse_exactbars
from bt_attention_lstm.models.features.compute import DEFAULT_SPEC, feature_matrix, warmup_bars
from bt_attention_lstm.models.features.spec import FEATURE_NAMES
from bt_attention_lstm.models.features.ta_stream import streaming_available

logger = logging.getLogger(__name__)


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
    - next mode, ``preload=False`` and live: each bar updates ``StreamingFeatures`` (O(1) a
      bar: TA-Lib's own indicator state carried forward, ``models.features.ta_stream``), which gives
      the full-history values bit for bit. ``prenext`` feeds the warm-up bars too. A bar seen
      again unchanged (another feed advanced) is not fed twice; a bar that changed in place
      (a forming bar) is recomputed from the state before it; skipped bars are caught up from
      the line buffers.
    - ``streaming=False``, or a TA-Lib without the Streaming API (``talib.stream`` handles,
      0.8.2 has them): ``next`` runs the batched code over the trailing ``spec.next_history``
      bars and keeps the last row (the reference the streaming path is tested against;
      unstable-period smoothing has forgotten its seed long before that window, tested to
      1e-9). About 0.4-0.6 ms a bar against ~0.05 ms streaming.

    minperiod is ``warmup_bars(spec) + 1``: the first bar with every feature defined.

    The lines are every feature this code knows. A spec fills ``spec.line_names`` (ta-v2: all;
    ta-v1: its own 15, the first lines) and leaves the others NaN. ``model_lines`` are the
    lines the model reads (``spec.names``), in order.
    """

    alias = ("Features",)
    lines = FEATURE_NAMES
    params = (("spec", DEFAULT_SPEC), ("streaming", True))
    plotinfo = dict(plot=False)

    def __init__(self) -> None:
        refuse_exactbars(self)
        self.addminperiod(warmup_bars(self.p.spec) + 1)
        spec = self.p.spec
        self.spec_lines = [getattr(self.lines, name) for name in spec.line_names]
        self.model_lines = [getattr(self.lines, name) for name in spec.names]
        self.streaming = bool(self.p.streaming) and streaming_available()
        if self.p.streaming and not self.streaming:
            logger.info(
                "TA-Lib has no Streaming API (talib.stream handles; 0.8.2 has them): per-bar "
                "features are recomputed over %d trailing bars instead",
                spec.next_history,
            )
        self._follower = (
            BarFollower(spec, revisions=bool(getattr(self.data, "replaying", False)))
            if self.streaming
            else None
        )

    def _ohlcv(self, end: int | None = None, size: int | None = None) -> list[np.ndarray]:
        d = self.data
        src = (d.open, d.high, d.low, d.close, d.volume)
        if size is not None:
            return [np.asarray(line.get(size=size), dtype=np.float64) for line in src]
        return [line_values(line, end) for line in src]

    # -- per bar: streaming --------------------------------------------------------------------
    def prenext(self) -> None:
        if self.streaming:
            self._streamed_row()  # the warm-up bars build the state; the lines stay NaN

    def next(self) -> None:
        row = self._streamed_row() if self.streaming else self._windowed_row()
        if row is None:
            return  # the same bar again: the lines already hold its row
        for line, value in zip(self.spec_lines, row, strict=True):
            line[0] = value

    def _streamed_row(self) -> list[float] | None:
        """This bar's row from the streaming state (None: this bar was fed already)."""
        d = self.data
        bar = (d.high[0], d.low[0], d.close[0], d.volume[0])
        return self._follower.row(len(d), bar, self._earlier)

    def _earlier(self, k: int) -> Iterable[tuple[float, float, float, float]]:
        """The k bars before the current one, oldest first, from the feed's line buffers."""
        d = self.data
        columns = [line.get(ago=-1, size=k) for line in (d.high, d.low, d.close, d.volume)]
        return zip(*columns, strict=True)

    # -- per bar: the windowed reference -------------------------------------------------------
    def _windowed_row(self) -> list[float]:
        """The last row of the batched code over the trailing ``spec.next_history`` bars."""
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
        return feature_matrix(
            close, high, low, close, volume, spec=spec, last=1, names=spec.line_names
        )[0].tolist()

    # -- whole history (runonce) -----------------------------------------------------------------
    def once(self, start: int, end: int) -> None:
        spec = self.p.spec
        matrix = feature_matrix(*self._ohlcv(end=end), spec=spec, names=spec.line_names)
        for j, line in enumerate(self.spec_lines):
            write_line(line, start, matrix[start:end, j])
