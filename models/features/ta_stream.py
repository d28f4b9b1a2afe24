"""One TA-Lib function carried forward bar by bar: TA-Lib's own state, O(1) a bar.

TA-Lib's Streaming API (``talib.stream`` handles; TA-Lib 0.8.2 here) keeps each indicator's
recursion in a handle:
Wilder's smoothing of RSI, ATR, ADX and +DI/-DI with their SMA seeds, MACD's fast, slow and
signal EMAs with the Function API's lookback alignment, the running sums of SMA, STDDEV and
BBANDS, the rolling extremes of WILLR. ``handle.update(bar)`` returns what the Function API
reports for that bar, bit for bit (the same C code and order of operations, fused multiply-adds
where TA-Lib uses them), so nothing here re-derives a TA-Lib formula and nothing drifts.

``TaStream`` adds what a bar-by-bar consumer needs around a handle: it collects history until
TA-Lib can open one (``lookback + 1`` defined bars; NaN before that, as the Function API's
warm-up), skips leading bars that are NaN in any input (as the Function API does), and answers
NaN for ever after a non-finite input (the Function API's running sums turn NaN there as well;
TA-Lib calls that input undefined behaviour).

TA-Lib wheels without it (in 0.6.x ``talib.stream`` holds functions that recompute one value
from whole arrays) make ``streaming_available()`` false, and ``FeatureVector`` then keeps its
windowed recompute.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np
import talib

try:  # the Streaming API: handle classes deriving from talib.stream.Stream
    import talib.abstract as _abstract
    from talib import stream as _stream

    _HAS_STREAMS = isinstance(getattr(_stream, "Stream", None), type)
except ImportError:  # pragma: no cover - an old or broken TA-Lib install
    _HAS_STREAMS = False

_NAN = float("nan")
# Bars past 2 x lookback that a handle may still refuse to open on before that is an error.
_OPEN_SLACK = 64


def streaming_available() -> bool:
    """True when the installed TA-Lib carries indicator state forward (``talib.stream``
    handles with ``update``)."""
    return _HAS_STREAMS


@lru_cache(maxsize=64)
def _lookback(name: str, params: tuple[tuple[str, Any], ...]) -> int:
    """TA-Lib's lookback of ``name`` with ``params``: output k needs inputs 0..k+lookback."""
    # talib's abstract.pyi lists the indicator functions but not the Function factory itself.
    function = _abstract.Function  # type: ignore[attr-defined]
    return int(function(name, **dict(params)).lookback)


class TaStream:
    """``talib.<name>(inputs, **params)`` one bar at a time.

    Formula: whatever TA-Lib's Function API computes; ``update`` at bar t returns
    ``talib.<name>(inputs[: t + 1], **params)`` at index t: a float, or a tuple when
    ``n_outputs`` > 1 (MACD, BBANDS), NaN during the warm-up.
    """

    __slots__ = ("_dead", "_handle", "_history", "_lookback", "_name", "_nan", "_params")

    def __init__(self, name: str, n_outputs: int = 1, **params: Any) -> None:
        if not _HAS_STREAMS:
            raise RuntimeError(
                f"TA-Lib {talib.__version__} has no Streaming API (talib.stream handles); "
                "install a TA-Lib that has (0.8.2 does)"
            )
        self._name = name
        self._params = params
        self._nan: Any = _NAN if n_outputs == 1 else (_NAN,) * n_outputs
        self._lookback = _lookback(name, tuple(sorted(params.items())))
        self._history: list[tuple[float, ...]] = []  # defined bars while no handle is open
        self._handle: Any = None
        self._dead = False

    @property
    def is_open(self) -> bool:
        return self._handle is not None

    def update(self, *inputs: float) -> Any:
        """Feed one closed bar (one value per input of the function); return the value(s)
        at it."""
        handle = self._handle
        if handle is not None:
            try:
                return handle.update(*inputs)
            except Exception:  # TA-Lib raises a bare Exception for a non-finite bar
                if all(math.isfinite(x) for x in inputs):
                    raise
                return self._die()
        if self._dead:
            return self._nan
        if any(math.isnan(x) for x in inputs):
            # a leading NaN is not history (the Function API skips it); a later one is
            # undefined in TA-Lib
            return self._die() if self._history else self._nan
        if not all(math.isfinite(x) for x in inputs):
            return self._die()
        self._history.append(inputs)
        return self._open() if len(self._history) > self._lookback else self._nan

    def _open(self) -> Any:
        columns = np.array(self._history, dtype=np.float64).T
        factory = getattr(_stream, self._name)
        try:
            self._handle = factory(*(np.ascontiguousarray(col) for col in columns), **self._params)
        except talib.InsufficientHistory:  # a seeding that needs a little more: next bar
            if len(self._history) > 2 * self._lookback + _OPEN_SLACK:
                raise  # not a little more: a TA-Lib this code does not know
            return self._nan
        self._history = []
        return self._handle.value

    def _die(self) -> Any:
        self._dead, self._handle, self._history = True, None, []
        return self._nan

    def copy(self) -> TaStream:
        """An independent stream at the same bar (TA-Lib clones the handle)."""
        twin = TaStream.__new__(TaStream)
        twin._name, twin._params, twin._nan = self._name, self._params, self._nan
        twin._lookback, twin._dead = self._lookback, self._dead
        twin._history = list(self._history)
        twin._handle = None if self._handle is None else self._handle.copy()
        return twin
