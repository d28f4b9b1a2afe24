"""Baselines scored on the same folds as the AttentionLSTM, on the same train-fold-scaled features.

- ``prior``: the class frequencies of the training fold, for every window.
- ``logistic``: an L2-regularised multinomial logistic regression.
- ``boosting``: scikit-learn's ``HistGradientBoostingClassifier``.

The two fitted baselines read the window's last feature row and a few earlier ones (``LAGS``
bars back, those inside the window): a tabular view of the same information. Their settings are
fixed in advance, never tuned on a validation fold (a baseline tuned on the fold it is scored on
would be as flattering as a model that was). They are strongly regularised because three-class
return labels carry little signal: with C = 0.1, or trees of 15 leaves over 40 samples, both
baselines were far worse than the prior on every sample series, a strawman rather than a bar.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from bt_attention_lstm.models.training.calibration import log_prior, softmax

logger = logging.getLogger(__name__)

LAGS: tuple[int, ...] = (0, 1, 2, 5)
BASELINES: tuple[str, ...] = ("prior", "logistic", "boosting")
LOGISTIC_C = 0.001  # inverse L2 strength, on ~4 x n_features standardised inputs


def lagged_rows(scaled: np.ndarray, ends: np.ndarray, seq_len: int,
                lags: Sequence[int] = LAGS) -> np.ndarray:
    """(n_windows, n_lags * n_features): rows ``end - lag`` for the lags inside the window."""
    used = [lag for lag in lags if lag < seq_len]
    return np.concatenate([scaled[ends - lag] for lag in used], axis=1).astype(np.float64)


class _ProbabilisticClassifier(Protocol):
    """What a fitted scikit-learn classifier offers here."""

    classes_: np.ndarray

    def predict_proba(self, x: np.ndarray) -> np.ndarray: ...


def _full_probs(model: _ProbabilisticClassifier, x: np.ndarray, n_classes: int) -> np.ndarray:
    """predict_proba with a column for every class (a class absent from training gets 0)."""
    probs = np.zeros((x.shape[0], n_classes))
    probs[:, model.classes_] = model.predict_proba(x)
    return probs


def baseline_probabilities(
    x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, n_classes: int, seed: int
) -> dict[str, np.ndarray]:
    """Each baseline's (n_val, n_classes) probabilities, fitted on the training rows only."""
    prior = softmax(np.broadcast_to(log_prior(y_train, n_classes), (x_val.shape[0], n_classes)))
    out = {"prior": prior}
    if np.unique(y_train).size < 2:  # nothing to fit: every fitted baseline is the prior
        return {name: prior for name in BASELINES}
    logistic = LogisticRegression(C=LOGISTIC_C, max_iter=500)
    boosting = HistGradientBoostingClassifier(
        max_iter=50,
        learning_rate=0.03,
        max_depth=3,
        min_samples_leaf=100,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        out["logistic"] = _full_probs(logistic.fit(x_train, y_train), x_val, n_classes)
    out["boosting"] = _full_probs(boosting.fit(x_train, y_train), x_val, n_classes)
    return out
