"""Nested cross-validation: the inner slice, the outer fold never used for a choice, honest figures
on random walks, baselines on the same folds, and the verdict."""

from __future__ import annotations

import numpy as np
import pytest

import bt_attention_lstm.models.training.classifier as training_mod
from bt_attention_lstm.models.artifact import parameters_digest
from bt_attention_lstm.models.config import ModelConfig, TrainConfig
from bt_attention_lstm.models.data.synthetic import random_walk_market
from bt_attention_lstm.models.errors import DataError
from bt_attention_lstm.models.features.spec import FeatureSpec
from bt_attention_lstm.models.training.baselines import baseline_probabilities, lagged_rows
from bt_attention_lstm.models.training.calibration import MIN_CALIBRATION_WINDOWS
from bt_attention_lstm.models.training.classifier import Trainer, WindowSamples, _OutOfFold
from bt_attention_lstm.models.training.nested_cv import (
    MODEL_NAME,
    cv_warnings,
    inner_split,
    time_series_folds,
)
from bt_attention_lstm.models.training.pipeline import cross_validate, segment_of

DAY = 86_400 * 10**9
N_FEATURES = FeatureSpec().n_features
SMALL_MODEL = ModelConfig(
    n_features=N_FEATURES, hidden=16, layers=1, heads=2, dropout=0.0, seq_len=10
)


def small_config(**kw) -> TrainConfig:
    base = dict(epochs=3, folds=2, patience=2, batch_size=128, seed=1, device="cpu")
    return TrainConfig(objective="classify", **{**base, **kw})


# -- the inner slice ---------------------------------------------------------------------------


@pytest.mark.parametrize(("fraction", "gap"), [(0.2, 5), (0.3, 10), (0.05, 1)])
def test_inner_slice_is_the_latest_part_of_the_training_fold_after_a_gap(fraction, gap):
    a = np.arange(400, dtype=np.int64) * DAY
    b = np.arange(100, 400, dtype=np.int64) * DAY  # a second symbol, same timestamps
    times = np.sort(np.concatenate([a, b]), kind="stable")
    train, inner = inner_split(times, fraction, gap)
    unique = np.unique(times)
    t_train, t_inner = times[train], times[inner]
    assert t_inner.max() == unique[-1]  # it ends where the training fold ends
    assert np.unique(t_inner).size == max(4, round(fraction * unique.size))
    between = (unique > t_train.max()) & (unique < t_inner.min())
    assert between.sum() == gap
    assert not set(t_train.tolist()) & set(t_inner.tolist())
    for t in (t_train.max(), t_inner.min()):  # every sample of a timestamp is on one side
        assert np.isin(np.flatnonzero(times == t), np.concatenate([train, inner])).all()


def test_a_training_fold_too_short_for_an_inner_slice_is_a_data_error():
    with pytest.raises(DataError, match="inner slice"):
        inner_split(np.arange(15, dtype=np.int64) * DAY, 0.2, 5)


# -- the outer fold is scored, never used ------------------------------------------------------


@pytest.fixture(scope="module")
def orcl_segment(orcl_df):
    return segment_of(orcl_df.loc["1995-01-01":"1999-12-31"].copy(), small_config())


def fold_choices(monkeypatch, segment, config, fold: int, permute: bool):
    """Run outer fold ``fold`` (optionally with its validation labels permuted) and record what
    its inner fit chose: epochs, calibrations and the weights of every member."""
    chosen = []
    real = Trainer._fit_members

    def recording(self, samples, idx, seed, label):
        out = real(self, samples, idx, seed, label)
        chosen.append([(m.epoch, m.calibration, parameters_digest(m.model)) for m in out.members])
        return out

    monkeypatch.setattr(Trainer, "_fit_members", recording)
    trainer = Trainer(SMALL_MODEL, config, progress=False)
    samples = WindowSamples([segment], SMALL_MODEL.seq_len)
    times = samples.bar_times[samples.ends]
    tr, va = time_series_folds(times, config.folds, config.horizon)[fold]
    if permute:
        ends = samples.ends[va]
        samples.labels[ends] = np.random.default_rng(0).permutation(samples.labels[ends])
    with training_mod.deterministic_torch():
        result, _ = trainer._run_fold(samples, fold, tr, va)
    return chosen[0], result


def test_permuting_the_outer_validation_labels_changes_no_choice(orcl_segment, monkeypatch):
    config = small_config(ensemble=2)
    plain, scored = fold_choices(monkeypatch, orcl_segment, config, 1, permute=False)
    permuted, rescored = fold_choices(monkeypatch, orcl_segment, config, 1, permute=True)
    assert plain == permuted  # same epochs, same calibrations, same weights
    assert scored.chosen_epochs == rescored.chosen_epochs
    # ... but the fold was scored on the labels it was given
    assert scored.scores["logistic"] != rescored.scores["logistic"]
    assert scored.scores["prior"].accuracy == pytest.approx(rescored.scores["prior"].accuracy)


def test_fold_table_holds_every_model_scored_on_the_same_windows(orcl_segment):
    config = small_config()
    report = Trainer(SMALL_MODEL, config, progress=False).cross_validate([orcl_segment])
    table = report.table()
    assert table["models"] == [MODEL_NAME, "prior", "logistic", "boosting"]
    assert len(table["folds"]) == config.folds
    for fold, row in zip(report.folds, table["folds"], strict=True):
        assert row[MODEL_NAME]["log_loss"] == fold.val_loss
        assert row["prior"]["log_loss"] == fold.baseline_log_loss
        for scores in row.values():
            assert 0.0 <= scores["accuracy"] <= 1.0 and scores["log_loss"] > 0
        assert fold.inner_start < fold.train_end < fold.val_start
    for name in table["models"]:
        mean = np.mean([row[name]["log_loss"] for row in table["folds"]])
        assert table["mean"][name]["log_loss"] == pytest.approx(mean)


# -- honest figures on data without an edge ----------------------------------------------------


def test_on_random_walks_the_model_is_not_better_than_the_prior_beyond_noise():
    """Seeds of a null market: nothing is predictable, so an honest outer score cannot beat the
    class prior except by chance; calibration keeps it from doing much worse."""
    config = small_config(folds=2, epochs=4)
    diffs = []
    for seed in range(3):
        report = cross_validate([random_walk_market(3000, seed)], SMALL_MODEL, config)
        diffs += [f.scores[MODEL_NAME].log_loss - f.scores["prior"].log_loss
                  for f in report.folds]
    diffs = np.asarray(diffs)
    noise = 2 * diffs.std(ddof=1) / np.sqrt(diffs.size) + 1e-3
    assert diffs.mean() > -noise, diffs
    assert diffs.mean() <= 0.005, diffs  # a model with nothing to say says so


# -- baselines and the verdict -----------------------------------------------------------------


def test_lagged_rows_read_the_window_end_and_earlier_rows_only():
    scaled = np.arange(40 * 3, dtype=np.float64).reshape(40, 3)
    ends = np.array([9, 20, 39])
    x = lagged_rows(scaled, ends, seq_len=6, lags=(0, 1, 2, 5, 8))  # lag 8 leaves the window
    assert x.shape == (3, 4 * 3)
    np.testing.assert_array_equal(x[1], np.concatenate([scaled[20], scaled[19], scaled[18],
                                                        scaled[15]]))


def test_baselines_give_probabilities_and_the_fitted_ones_find_a_planted_signal():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 5))
    labels = np.digitize(x[:, 0] + 0.5 * rng.normal(size=3000), [-0.5, 0.5])  # 0, 1, 2
    probs = baseline_probabilities(x[:2000], labels[:2000], x[2000:], 3, seed=0)
    y = labels[2000:]
    losses = {}
    for name, p in probs.items():
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
        losses[name] = -np.mean(np.log(p[np.arange(y.size), y]))
    freq = np.bincount(labels[:2000], minlength=3) / 2000
    np.testing.assert_allclose(probs["prior"], np.broadcast_to(freq, (1000, 3)))
    assert losses["logistic"] < losses["prior"] - 0.1
    assert losses["boosting"] < losses["prior"] - 0.1


def test_a_class_absent_from_training_gets_probability_zero_in_fitted_baselines():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 4))
    labels = (x[:, 0] > 0).astype(np.int64) * 2  # only classes 0 and 2
    probs = baseline_probabilities(x, labels, x[:50], 3, seed=0)
    for name in ("logistic", "boosting"):
        assert (probs[name][:, 1] == 0).all()
        np.testing.assert_allclose(probs[name].sum(axis=1), 1.0)


def table_with(model: float, prior: float, logistic: float, boosting: float) -> dict:
    mean = {n: {"accuracy": 0.4, "log_loss": v} for n, v in
            ((MODEL_NAME, model), ("prior", prior), ("logistic", logistic),
             ("boosting", boosting))}
    return {"table": {"models": list(mean), "mean": mean, "folds": []}}


def test_verdict_warns_when_the_model_does_not_beat_the_prior_or_the_best_baseline():
    assert cv_warnings(table_with(1.00, 1.09, 1.05, 1.06)) == []
    only_baseline = cv_warnings(table_with(1.06, 1.09, 1.05, 1.07))
    assert len(only_baseline) == 1 and "best baseline (logistic)" in only_baseline[0]
    both = cv_warnings(table_with(1.09, 1.09, 1.05, 1.02))
    assert len(both) == 2 and "class prior" in both[0] and "(boosting)" in both[1]
    assert cv_warnings({"folds": []}) == []  # an older artifact without a table: no verdict


# -- the final model uses what the CV found ----------------------------------------------------


def test_final_model_takes_the_median_epoch_and_the_out_of_fold_calibration(orcl_segment,
                                                                           monkeypatch):
    inner, final = [], []
    real_inner = training_mod.calibrate_members
    real_final = training_mod.calibrate_members_out_of_fold

    def recording_inner(member_logits, labels, fold_labels, block=1):
        inner.append(labels.size)
        return real_inner(member_logits, labels, fold_labels, block)

    def recording_final(member_parts, label_parts, fold_labels, block=1):
        final.append(([[z.copy() for z in parts] for parts in member_parts],
                      [y.copy() for y in label_parts], fold_labels.copy()))
        return real_final(member_parts, label_parts, fold_labels, block)

    monkeypatch.setattr(training_mod, "calibrate_members", recording_inner)
    monkeypatch.setattr(training_mod, "calibrate_members_out_of_fold", recording_final)
    config = small_config(folds=3)
    result = Trainer(SMALL_MODEL, config, progress=False).fit([orcl_segment])
    chosen = [e for f in result.folds for e in f.chosen_epochs]
    assert result.final_epochs == max(1, round(float(np.median(chosen))))
    # one calibration per fold (inner slice), then the final one on the outer folds' logits,
    # one part per fold network whose inner slice could judge its epoch, else the last fold's
    assert len(inner) == config.folds and len(final) == 1
    (logit_parts,), label_parts, fold_labels = final[0]  # one member
    samples = WindowSamples([orcl_segment], SMALL_MODEL.seq_len)
    folds = time_series_folds(samples.bar_times[samples.ends], config.folds, config.horizon)
    judged = [k for k, size in enumerate(inner) if size >= MIN_CALIBRATION_WINDOWS]
    evidence = judged or [config.folds - 1]
    assert len(label_parts) == len(logit_parts) == len(evidence)
    for k, labels, logits in zip(evidence, label_parts, logit_parts, strict=True):
        va = folds[k][1]
        np.testing.assert_array_equal(labels, samples.labels[samples.ends[va]])
        assert logits.shape == (va.size, 3)
    np.testing.assert_array_equal(fold_labels, samples.labels[samples.ends])  # the anchor
    assert result.calibrations == real_final([logit_parts], label_parts, fold_labels,
                                             config.horizon)


def test_the_final_calibration_hears_only_folds_whose_inner_slice_could_judge():
    """A fold network whose epoch was chosen on fewer than MIN_CALIBRATION_WINDOWS inner windows
    is noise as evidence for the final model; with no such fold, the last (most data) speaks."""
    labels = [np.zeros(5, dtype=np.int64)] * 3
    assert _OutOfFold([[]], labels, [False, True, True]).evidence() == [1, 2]
    assert _OutOfFold([[]], labels, [False, False, False]).evidence() == [2]
    assert _OutOfFold([[]], labels, [True, True, True]).evidence() == [0, 1, 2]
