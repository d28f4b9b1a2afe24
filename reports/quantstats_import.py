"""quantstats, imported without restyling the user's matplotlib.

Importing quantstats applies a seaborn style to matplotlib's global rcParams (34 settings:
grid, colours, font sizes): a user's later ``cerebro.plot()`` would change its look because a
report was written. The import runs inside ``rc_context``, which restores every setting, and
the style quantstats wanted is kept in ``QUANTSTATS_RC`` for the tear sheet to draw with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

with matplotlib.rc_context():
    _before = {key: repr(value) for key, value in matplotlib.rcParams.items()}
    import quantstats as qs

    QUANTSTATS_RC: dict[RcKeyType, Any] = {
        key: value
        for key, value in matplotlib.rcParams.items()
        if _before.get(key) != repr(value)
    }

__all__ = ["QUANTSTATS_RC", "qs"]
