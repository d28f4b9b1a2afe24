"""Paper trading: replay a price file through a live-like feed with every live safeguard on.

Names are exported lazily (``models.lazy_exports``): importing the package, or a light module
of it, does not import torch or backtrader."""

from typing import TYPE_CHECKING

from bt_attention_lstm.models.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from bt_attention_lstm.runners.research.paper.run import (
        PaperConfig,
        PaperPlan,
        PaperResult,
        execute_paper,
        plan_paper,
        run_paper,
    )
    from bt_attention_lstm.runners.research.paper.session import (
        PaperSession,
        SessionSettings,
        needed_backfill,
        replay_session,
    )

_EXPORTS = {
    "PaperConfig": "run",
    "PaperPlan": "run",
    "PaperResult": "run",
    "PaperSession": "session",
    "SessionSettings": "session",
    "execute_paper": "run",
    "needed_backfill": "session",
    "plan_paper": "run",
    "replay_session": "session",
    "run_paper": "run",
}
__all__ = [
    "PaperConfig",
    "PaperPlan",
    "PaperResult",
    "PaperSession",
    "SessionSettings",
    "execute_paper",
    "needed_backfill",
    "plan_paper",
    "replay_session",
    "run_paper",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
