"""Paper trading: replay a price file through a live-like feed with every live safeguard on."""

from bt_attention_lstm.runners.research.paper.session import (
    PaperConfig,
    PaperResult,
    needed_backfill,
    run_paper,
)

__all__ = ["PaperConfig", "PaperResult", "needed_backfill", "run_paper"]
