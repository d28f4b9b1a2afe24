"""Keeping the streaming features in step with a feed, whatever order its bars come in.

backtrader runs an indicator's ``next`` once per step of the strategy's clock, not once per bar
of its own data: a feed that did not advance (another feed did, or a slower resampled one) shows
the same bar again; ``replaydata`` shows a bar several times while it forms, changed in place;
a bar may in principle come after others were skipped. ``BarFollower.row`` turns each call into
the right update of ``StreamingFeatures``:

- bar n again, unchanged: nothing to do (``None``; the lines already hold its row);
- bar n again, changed: back to the state before bar n, then bar n (the state before the
  last bar is kept from then on; the first time it is rebuilt from the feed's history);
- bar n after bar m < n - 1: bars m+1 .. n-1 from the feed's history first;
- bar n after bar m >= n (the feed restarted): start over from its history.

Bars are numbered as backtrader's ``len(data)``: the first is 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bt_attention_lstm.models.features.spec import FeatureSpec
from bt_attention_lstm.models.features.streaming import StreamingFeatures

Bar = tuple[float, float, float, float]  # high, low, close, volume
# earlier(k): the k bars right before the current one, oldest first
Earlier = Callable[[int], Iterable[Bar]]


class BarFollower:
    """The feature row of a feed's current bar, computed once per bar, O(1) a bar.

    ``revisions``: keep the state before the last bar from the start (a ``replaydata`` feed,
    whose bars change in place); otherwise it is kept only after the first bar that changed.
    """

    def __init__(self, spec: FeatureSpec, revisions: bool = False) -> None:
        self.spec = spec
        self.stream = StreamingFeatures(spec)
        self._keep_before = revisions
        self._before: StreamingFeatures | None = None
        self._last: Bar | tuple[()] = ()
        self.revised = 0  # bars recomputed after they changed in place

    @property
    def fed(self) -> int:
        """Bars fed to the stream so far (the number of the last one)."""
        return self.stream.bars

    def row(self, n: int, bar: Bar, earlier: Earlier) -> list[float] | None:
        """The row of bar ``n`` (values ``bar``), or None when bar n was fed already as is."""
        fed = self.stream.bars
        if n == fed:
            if bar == self._last:
                return None
            self._back_before_last(n, earlier)
        elif n != fed + 1:
            self._catch_up(n, earlier)
        if self._keep_before:
            self._before = self.stream.copy()
        out = self.stream.update(*bar)
        self._last = bar
        return out

    def _back_before_last(self, n: int, earlier: Earlier) -> None:
        """The state after bar n - 1: the copy kept, or rebuilt from the history once."""
        self.revised += 1
        if self._before is not None:
            self.stream = self._before
            return
        self.stream = StreamingFeatures(self.spec)
        self._catch_up(n, earlier)
        self._keep_before = True

    def _catch_up(self, n: int, earlier: Earlier) -> None:
        """Feed bars ``fed + 1 .. n - 1`` (all of 1 .. n - 1 after a restart)."""
        if n <= self.stream.bars:
            self.stream = StreamingFeatures(self.spec)
        missing = n - 1 - self.stream.bars
        if missing > 0:
            for bar in earlier(missing):
                self.stream.update(*bar)
