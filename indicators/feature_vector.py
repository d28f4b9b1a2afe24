"""FeatureVector: the features of ``compute_features`` as backtrader lines."""

from __future__ import annotations

import array
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

import backtrader as bt
import numpy as np
from numpy.typing import NDArray

from bt_attention_lstm.indicators.line_advance import advance_lines
from bt_attention_lstm.indicators.run_guards import refuse_exactbars
from bt_attention_lstm.models.features.bar_follower import BarFollower
from bt_attention_lstm.models.features.compute import DEFAULT_SPEC, feature_matrix, warmup_bars
from bt_attention_lstm.models.features.spec import FEATURE_NAMES, FeatureSpec
from bt_attention_lstm.models.features.ta_stream import streaming_available

logger = logging.getLogger(__name__)


def line_values(line: bt.LineSeries, end: int) -> NDArray[np.float64]:
    """The first ``end`` values of a preloaded line as float64 (a copy)."""
    return np.asarray(line.array[:end], dtype=np.float64)


def write_line(line: bt.LineSeries, start: int, values: np.ndarray) -> None:
    """Write ``values`` into a line's buffer from index ``start`` (runonce mode)."""
    line.array[start : start + len(values)] = array.array(
        "d", np.ascontiguousarray(values, dtype=np.float64).tobytes()
    )


class FeatureVector(bt.Indicator):
    """The trading-side twin of ``models.features.compute.compute_features``: one line per feature.

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

    if TYPE_CHECKING:

        def __init__(
            self, *datas: bt.LineSeries, spec: FeatureSpec = ..., streaming: bool = ...
        ) -> None:
            """The call a FeatureVector is built with: backtrader's metaclass takes the data
            feed and the params out of it before ``__init__`` runs, with nothing left over."""

    else:

        def __init__(self) -> None:
            self._setup()

    def _setup(self) -> None:
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
        # the streaming state, when streaming (else next() runs the windowed reference)
        self._follower = (
            BarFollower(spec, revisions=bool(getattr(self.data, "replaying", False)))
            if self.streaming
            else None
        )

    # -- per bar: streaming --------------------------------------------------------------------
    def prenext(self) -> None:
        if self._follower is not None:
            self._streamed_row(self._follower)  # the warm-up bars build the state; lines stay NaN

    def next(self) -> None:
        follower = self._follower
        row = self._streamed_row(follower) if follower is not None else self._windowed_row()
        if row is None:
            return  # the same bar again: the lines already hold its row
        for line, value in zip(self.spec_lines, row, strict=True):
            line[0] = value

    def _streamed_row(self, follower: BarFollower) -> list[float] | None:
        """This bar's row from the streaming state (None: this bar was fed already)."""
        d = self.data
        bar = (d.high[0], d.low[0], d.close[0], d.volume[0])
        return follower.row(len(d), bar, self._earlier)

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
    def advance(self, size: int = 1) -> None:
        """Runonce's per-bar step: the lines move forward in one loop (``advance_lines``)."""
        advance_lines(self, size)

    def once(self, start: int, end: int) -> None:
        spec = self.p.spec
        d = self.data
        open_, high, low, close, volume = (
            line_values(line, end) for line in (d.open, d.high, d.low, d.close, d.volume)
        )
        matrix = feature_matrix(
            open_, high, low, close, volume, spec=spec, names=spec.line_names
        )
        for j, line in enumerate(self.spec_lines):
            write_line(line, start, matrix[start:end, j])
