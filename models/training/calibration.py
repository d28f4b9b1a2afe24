"""Vector scaling of a classifier's logits (Guo et al., 2017): p = softmax(scale * z + bias).

One scale and one bias per class, the scales in [0, 1] (calibration may temper what the network
says, never amplify it) with a small ridge. With ``scale = 0`` the output is ``softmax(bias)``, a
constant: that is how a model with nothing to say falls back to the class prior. Chosen on
held-out logits (an inner slice of the training fold, never the data a figure is reported on),
with the bias anchored at the training fold's log class frequencies (``fit_vector_scaling``).

A scaling is only kept when it beats the fold's prior out of sample *inside* the slice (two
halves, each fitted on one and scored on the other, by more than ``GATE_SE`` block standard
errors; out-of-fold logits of several networks are split per network, ``calibrate_out_of_fold``;
an ensemble's members are judged together on their averaged probabilities,
``calibrate_members``) and the slice is large enough to judge; otherwise the calibration IS the
prior of the training fold: scale 0, bias = log class frequencies. Since ``scale * z + bias``
is affine in the logits, it folds exactly into the network's last linear layer (``fold_into``),
so the batched, per-bar, fused and CUDA-graph paths all apply it without a line of their own.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.optimize import minimize

from bt_attention_lstm.models.errors import ArtifactError
from bt_attention_lstm.models.logit_scaling import VectorScaling, log_prior, softmax

logger = logging.getLogger(__name__)

RIDGE = 1.0  # on the scales, against a sum (not a mean) of log-losses: negligible for real edges
# The model must beat the prior on the inner slice by this many standard errors of the mean
# per-window log-loss difference (overlapping labels make the errors correlated, so the true
# standard error is larger: this is a lenient bar, not a strict test).
GATE_SE = 1.5
# Below this many held-out windows the gate cannot tell a weak model from the prior (on random
# walks, slices of 60-170 windows let through fits that cost 0.03-0.07 of log-loss out of sample).
MIN_CALIBRATION_WINDOWS = 200
# The kinds whose output is anchored at the training fold's class frequencies.
ANCHORED_KINDS = ("vector", "prior")


def log_loss(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of the true class (probabilities floored at 1e-12)."""
    picked = probs[np.arange(labels.size), labels]
    return float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0))))


def _objective(params: np.ndarray, z: np.ndarray, onehot: np.ndarray) -> tuple[float, np.ndarray]:
    """Summed log-loss of softmax(scale * z + bias) + ridge on the scales, and its gradient."""
    k = z.shape[1]
    scale, bias = params[:k], params[k:]
    logits = z * scale + bias
    logits -= logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    loss = -float((onehot * log_p).sum()) + 0.5 * RIDGE * float(scale @ scale)
    residual = np.exp(log_p) - onehot  # d loss / d logits
    grad = np.concatenate([(residual * z).sum(axis=0) + RIDGE * scale, residual.sum(axis=0)])
    return loss, grad


def fit_vector_scaling(
    logits: np.ndarray, labels: np.ndarray, anchor: np.ndarray | None = None
) -> VectorScaling:
    """Scales in [0, 1] minimising log-loss (+ a ridge on the scales) on these logits.

    Scales never exceed 1: calibration may temper what the network says (down to nothing),
    never amplify it. Biases are free when ``anchor`` is None; given ``anchor`` (log class
    frequencies of the whole training fold) they are fixed so that the logits' mean on this
    slice maps to the anchor: ``bias = anchor - scale * mean(logits)``. The model then only
    moves the prediction away from the fold's prior where its logits differ from their usual
    level; a bias fitted on a short slice learns that slice's class frequencies, and on random
    walks that cost 0.04 of log-loss on the next fold.
    """
    n_classes = logits.shape[1]
    z = np.asarray(logits, dtype=np.float64)
    onehot = np.eye(n_classes)[np.asarray(labels, dtype=np.int64)]
    if anchor is None:
        centre = np.zeros(n_classes)
        start_bias = log_prior(labels, n_classes)
        bias_bounds: list[tuple[float | None, float | None]] = [(None, None)] * n_classes
    else:
        centre = z.mean(axis=0)
        start_bias = np.asarray(anchor, dtype=np.float64)
        bias_bounds = [(float(v), float(v)) for v in start_bias]  # fixed
    start = np.concatenate([np.ones(n_classes), start_bias])
    bounds = [(0.0, 1.0)] * n_classes + bias_bounds
    fit = minimize(_objective, start, args=(z - centre, onehot), jac=True, method="L-BFGS-B",
                   bounds=bounds)
    s, b = fit.x[:n_classes], fit.x[n_classes:] - fit.x[:n_classes] * centre
    if not (np.isfinite(s).all() and np.isfinite(b).all()):
        return VectorScaling.prior(labels, n_classes)
    b = b - b.mean()  # softmax is shift-invariant; a centred bias reads better in meta.json
    return VectorScaling(tuple(s.tolist()), tuple(b.tolist()), "vector")


def _held_out_true_class(
    logits: np.ndarray, labels: np.ndarray, anchor: np.ndarray
) -> np.ndarray | None:
    """Probability of the true class for every window, each half (in time) scored with the
    anchored scaling fitted on the other half (second half first); None when a half is too
    short to fit. The order depends only on ``labels.size``, so several members' results for
    the same windows line up."""
    n = labels.size
    half = n // 2
    if half < 2:
        return None
    picked = []
    for fit, held in ((slice(0, half), slice(half, n)), (slice(half, n), slice(0, half))):
        cal = fit_vector_scaling(logits[fit], labels[fit], anchor)
        y = labels[held]
        picked.append(cal.probabilities(logits[held])[np.arange(y.size), y])
    return np.concatenate(picked)


def _held_out_differences(
    member_logits: Sequence[np.ndarray], labels: np.ndarray, anchor: np.ndarray
) -> np.ndarray | None:
    """Per-window log-loss of the members' averaged, cross-fitted scalings minus the anchor's
    (see ``_held_out_true_class``); None when a half is too short to fit."""
    scored = [_held_out_true_class(z, labels, anchor) for z in member_logits]
    picked = [p for p in scored if p is not None]
    if len(picked) < len(scored):
        return None
    n, half = labels.size, labels.size // 2
    y = np.concatenate([labels[half:n], labels[:half]])  # the order of _held_out_true_class
    prior = softmax(np.asarray(anchor, dtype=np.float64)[None, :])[0]
    averaged = np.mean(picked, axis=0)
    return np.log(np.clip(prior[y], 1e-12, 1)) - np.log(np.clip(averaged, 1e-12, 1))


def _significantly_negative(d: np.ndarray, block: int) -> bool:
    """Whether the mean of ``d`` is below zero by more than ``GATE_SE`` standard errors taken
    over means of ``block`` consecutive values (neighbouring windows share most of their
    label's horizon, so single windows are not independent)."""
    n_blocks = d.size // max(block, 1)
    if n_blocks < 2:
        return False
    means = d[: n_blocks * block].reshape(n_blocks, block).mean(axis=1)
    se = float(np.std(means, ddof=1) / np.sqrt(n_blocks))
    return float(np.mean(d)) < -GATE_SE * se


def beats_prior_inside(
    logits: np.ndarray, labels: np.ndarray, anchor: np.ndarray, block: int = 1
) -> bool:
    """Whether the anchored scaling beats the anchor (the fold's prior) out of sample within
    this slice, beyond noise: fitted on one half (in time) and scored on the other, both ways;
    the per-window log-loss differences must average below zero by more than ``GATE_SE``
    standard errors of means over ``block`` windows (pass the horizon)."""
    return members_beat_prior([[logits]], [labels], anchor, block)


def beats_prior_in_each_part(
    logit_parts: Sequence[np.ndarray], label_parts: Sequence[np.ndarray], anchor: np.ndarray,
    block: int = 1,
) -> bool:
    """``beats_prior_inside`` for logits that come from several networks (the outer folds'
    out-of-fold predictions): each part is split in halves and cross-fitted on its own, since
    one network's logit scale says nothing about another's, and the differences are pooled."""
    return members_beat_prior([list(logit_parts)], label_parts, anchor, block)


def members_beat_prior(
    member_parts: Sequence[Sequence[np.ndarray]], label_parts: Sequence[np.ndarray],
    anchor: np.ndarray, block: int = 1,
) -> bool:
    """The gate for an ensemble (``member_parts[m][k]``: member m's logits on part k): within
    each part every member's scaling is cross-fitted on its own halves, the members'
    probabilities are averaged as the artifact averages them, and the differences to the
    anchor are pooled over the parts. The members pass or fail together: a calibrated member
    averaged with members calibrated to the prior only dilutes what it says."""
    parts = [
        _held_out_differences([member[k] for member in member_parts], y, anchor)
        for k, y in enumerate(label_parts)
    ]
    kept = [d for d in parts if d is not None]
    return bool(kept) and _significantly_negative(np.concatenate(kept), block)


def calibrate(
    logits: np.ndarray, labels: np.ndarray, fold_labels: np.ndarray, block: int = 1
) -> VectorScaling:
    """One network's calibration on a held-out slice: ``calibrate_members`` of one member."""
    return calibrate_members([logits], labels, fold_labels, block)[0]


def calibrate_members(
    member_logits: Sequence[np.ndarray], labels: np.ndarray, fold_labels: np.ndarray,
    block: int = 1,
) -> list[VectorScaling]:
    """The calibrations chosen on a held-out slice (each member's ``logits`` on it, its
    ``labels``): per member, a scaling anchored at the prior of the whole training fold
    (``fold_labels``) when the members' averaged scalings beat that prior inside the slice
    (``members_beat_prior``) and the slice holds at least ``MIN_CALIBRATION_WINDOWS``; else
    that prior for every member, i.e. exactly the majority-prior baseline."""
    n_classes = member_logits[0].shape[1]
    anchor = log_prior(fold_labels, n_classes)
    if labels.size >= MIN_CALIBRATION_WINDOWS and members_beat_prior(
        [[z] for z in member_logits], [labels], anchor, block
    ):
        return [fit_vector_scaling(z, labels, anchor) for z in member_logits]
    logger.info("calibration: the model does not beat the class prior on the inner slice")
    return [VectorScaling.prior(fold_labels, n_classes)] * len(member_logits)


def calibrate_out_of_fold(
    logit_parts: Sequence[np.ndarray], label_parts: Sequence[np.ndarray],
    fold_labels: np.ndarray, block: int = 1,
) -> VectorScaling:
    """One network's final calibration: ``calibrate_members_out_of_fold`` of one member."""
    return calibrate_members_out_of_fold([logit_parts], label_parts, fold_labels, block)[0]


def calibrate_members_out_of_fold(
    member_parts: Sequence[Sequence[np.ndarray]], label_parts: Sequence[np.ndarray],
    fold_labels: np.ndarray, block: int = 1,
) -> list[VectorScaling]:
    """The final model's calibrations from the outer folds' out-of-fold logits
    (``member_parts[m][k]``: member m's fold network on fold k): kept when the members'
    averaged scalings, cross-fitted within each part's own halves, beat the prior on the pooled
    differences (``members_beat_prior``) over at least ``MIN_CALIBRATION_WINDOWS`` windows;
    then each member's is fitted on all its parts together, anchored at the whole range's
    prior. Else that prior for every member."""
    n_classes = member_parts[0][0].shape[1]
    anchor = log_prior(fold_labels, n_classes)
    labels = np.concatenate(label_parts)
    if labels.size >= MIN_CALIBRATION_WINDOWS and members_beat_prior(
        member_parts, label_parts, anchor, block
    ):
        return [fit_vector_scaling(np.concatenate(parts), labels, anchor)
                for parts in member_parts]
    logger.info("calibration: the model does not beat the class prior out of fold")
    return [VectorScaling.prior(fold_labels, n_classes)] * len(member_parts)


def calibrations_from_meta(meta: dict[str, Any], members: int, n_classes: int
                           ) -> list[VectorScaling]:
    """meta.json's per-member calibrations; an artifact written before calibration existed
    (no ``calibration`` field) loads with the identity."""
    raw = meta.get("calibration")
    if raw is None:
        return [VectorScaling.identity(n_classes)] * members
    if not isinstance(raw, list) or len(raw) != members:
        raise ArtifactError(
            f"meta.json's calibration must be a list of {members} entries (one per member)"
        )
    return [VectorScaling.from_dict(entry, n_classes) for entry in raw]


def calibrations_to_meta(calibrations: Sequence[VectorScaling]) -> list[dict[str, Any]]:
    return [c.to_dict() for c in calibrations]
