"""advance_lines: an indicator's ``advance`` in one loop over its line buffers.

In runonce mode backtrader calls ``advance()`` on every indicator of the strategy every bar
(``Strategy._oncepost``). ``Indicator.advance`` goes through ``Lines.advance`` to each
``LineBuffer.advance``, which moves the index through a property: about 0.2 us a line, 6-7 us a
bar for the FeatureVector's and the ModelSignal's 29 lines, a tenth of a bare SMA cross's whole
bar. This does the same two increments on the buffers directly. It writes backtrader's own
buffer fields (``_idx``, ``lencount``), so it is tied to the pinned backtrader (setup.cfg);
tests/indicators/test_line_advance.py compares it with ``Indicator.advance`` bar by bar.
"""

from __future__ import annotations

from typing import Any

from backtrader.linebuffer import LineBuffer


def advance_lines(indicator: Any, size: int = 1) -> None:
    """What ``bt.Indicator.advance`` does: move every line ``size`` bars forward, unless the
    indicator has already caught up with its clock (a feed of a slower timeframe)."""
    buffers: list[LineBuffer] = indicator.lines.lines
    first = buffers[0]
    if first.lencount >= len(indicator._clock):
        return
    if first.mode != LineBuffer.UnBounded:  # a trimmed buffer's index has rules of its own
        for line in buffers:
            line.advance(size)
        return
    for line in buffers:
        line._idx += size
        line.lencount += size
