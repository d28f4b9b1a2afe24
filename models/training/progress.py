"""One progress bar for a whole training run, and a rough estimate of how long one takes.

The trainers (``models.training.classifier``, ``models.training.position``) draw one bar per fit
("fold 1",
"fold 2 member 1", "final", ...): a dozen bars without a total. A runner that explains itself
shows one bar instead, ``training: k/(folds + 1) fits``, advanced by the record each trainer
logs when an outer fold is done (``"fold %d: %s"`` at INFO) and completed when the final fit
returns. The record is taken off that logger while the bar is shown; it still reaches the
user's handlers when their level asks for INFO (``-v``).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm.auto import tqdm

from bt_attention_lstm.models.config import TrainConfig

# the loggers whose "fold %d: ..." INFO record ends an outer fold (both trainers log it)
FOLD_LOGGERS = (
    "bt_attention_lstm.models.training.classifier",
    "bt_attention_lstm.models.training.position",
)
FOLD_MESSAGE = "fold %d: %s"

# Seconds per training bar of the default model (runners.research.default_model) on
# two idle CPU cores: 2400 bars of the synthetic market trained in ~2 s (3 folds + the final
# fit, early stopping). An estimate, printed as "about ..."; more cores help up to about four,
# and cores busy with other work can make it many times slower (torch's threads wait on them).
SECONDS_PER_BAR_2_CORES = 0.00085


class _FoldCounter(logging.Handler):
    """Advances the bar on each fold record; passes every record on to where it would have
    gone (the parent loggers' handlers) when the level the user chose lets it through."""

    def __init__(self, bar: tqdm, logger: logging.Logger, level: int) -> None:
        super().__init__(logging.DEBUG)
        self.bar, self.logger, self.user_level = bar, logger, level

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == FOLD_MESSAGE and record.levelno == logging.INFO:
            self.bar.update(1)
        if record.levelno >= self.user_level and self.logger.parent is not None:
            self.logger.parent.handle(record)


@contextmanager
def training_bar(config: TrainConfig, enabled: bool, desc: str = "training") -> Iterator[tqdm]:
    """A ``tqdm`` of ``config.folds + 1`` fits (the outer folds, then the final model) for the
    duration of one ``train_and_save`` (call it with ``progress=False``)."""
    total = config.folds + 1
    bar = tqdm(total=total, desc=desc, unit="fit", disable=not enabled)
    saved = []
    try:
        for name in FOLD_LOGGERS:
            logger = logging.getLogger(name)
            handler = _FoldCounter(bar, logger, logger.getEffectiveLevel())
            saved.append((logger, handler, logger.level, logger.propagate))
            logger.addHandler(handler)
            logger.setLevel(min(logging.INFO, logger.getEffectiveLevel()))
            logger.propagate = False  # _FoldCounter forwards what the user's level lets through
        yield bar
        bar.update(total - bar.n)  # the final fit returned
    finally:
        for logger, handler, level, propagate in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate
        bar.close()


def estimate_training_seconds(bars: int, device: str = "cpu") -> float:
    """About how long the default model takes to train on ``bars`` bars on this machine: the
    rate measured on two CPU cores, scaled by the cores torch may use (up to four help)."""
    cores = max(1, min(os.cpu_count() or 1, 4))
    seconds = SECONDS_PER_BAR_2_CORES * bars * 2.0 / cores
    if device == "cuda":
        seconds /= 3.0
    return seconds


def rough_duration(seconds: float) -> str:
    """"a few seconds", "about 40 s", "about 3 min": how a plan line says how long."""
    if seconds < 10:
        return "a few seconds"
    if seconds < 90:
        return f"about {int(math.ceil(seconds / 10.0) * 10)} s"
    return f"about {int(round(seconds / 60.0))} min"
