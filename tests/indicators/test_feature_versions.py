"""Feature-spec versions: a ta-v1 artifact (15 features, trained before ta-v2) still loads and
trades with its own spec, bar for bar the same in every run mode; specs this code does not
compute are refused with a reason."""

from __future__ import annotations

import json

import backtrader as bt
import numpy as np
import pytest
import torch

from bt_attention_lstm.indicators import FeatureVector, ModelSignal, compute_features, warmup_bars
from bt_attention_lstm.models.artifact import META_FILE, load_artifact, meta_digest, save_artifact
from bt_attention_lstm.models.errors import ArtifactError
from bt_attention_lstm.models.features.scaling import FeatureScaler
from bt_attention_lstm.models.features.spec import (
    FEATURE_NAMES,
    V1_FEATURE_NAMES,
    FeatureSpec,
    v1_spec,
)
from bt_attention_lstm.models.nn.network import AttentionLSTM, ModelConfig
from bt_attention_lstm.runners.research.cerebro import pandas_feed

MODES = {
    "runonce": ({}, {}),
    "next": ({}, {"runonce": False}),
    "preload_false": ({"preload": False}, {}),
}


@pytest.fixture(scope="module")
def frame(orcl_df):
    return orcl_df.iloc[2000:3200].copy()


@pytest.fixture(scope="module")
def v1_artifact(tmp_path_factory, frame):
    """A ta-v1 model as train.py wrote it before ta-v2: 15 features, scaler on those."""
    spec = v1_spec()
    torch.manual_seed(3)
    model = AttentionLSTM(
        ModelConfig(n_features=spec.n_features, hidden=8, layers=1, heads=2, seq_len=6)
    ).eval()
    features = compute_features(frame.iloc[:600], spec).to_numpy()
    scaler = FeatureScaler.fit(features[np.isfinite(features).all(axis=1)])
    out = tmp_path_factory.mktemp("v1") / "model"
    save_artifact(out, model, scaler, spec, 5, {})
    # Exactly what a pre-version meta.json held: no "version" and no ta-v2 fields.
    meta = json.loads((out / META_FILE).read_text())
    for key in ("version", "ewm_vol_span", "trend_price_std", "trend_norm"):
        meta["feature_spec"].pop(key)
    meta["content_sha256"] = meta_digest(meta)
    (out / META_FILE).write_text(json.dumps(meta))
    return load_artifact(out)


class Collect(bt.Strategy):
    params = (("artifact", None),)

    def __init__(self) -> None:
        self.fv = FeatureVector(self.data, spec=self.p.artifact.feature_spec)
        self.sig = ModelSignal(self.data, artifact=self.p.artifact, device="cpu", features=self.fv)


def run_mode(frame, artifact, mode):
    cerebro_kw, run_kw = MODES[mode]
    cerebro = bt.Cerebro(stdstats=False, **cerebro_kw)
    cerebro.adddata(pandas_feed(frame))
    cerebro.addstrategy(Collect, artifact=artifact)
    strat = cerebro.run(**run_kw)[0]
    stack = [np.asarray(line.array, dtype=np.float64) for line in strat.fv.lines]
    signal = [np.asarray(line.array, dtype=np.float64) for line in strat.sig.lines]
    return np.column_stack(stack), np.column_stack(signal)


def test_a_v1_meta_json_loads_as_version_1(v1_artifact):
    spec = v1_artifact.feature_spec
    assert spec.feature_set == "ta-v1" and spec.version == 1
    assert spec.names == V1_FEATURE_NAMES and spec.n_features == 15
    assert warmup_bars(spec) < warmup_bars(FeatureSpec())


@pytest.mark.parametrize("mode", list(MODES))
def test_a_v1_model_trades_with_its_own_features_in_every_mode(frame, v1_artifact, mode):
    spec = v1_artifact.feature_spec
    lines, signal = run_mode(frame, v1_artifact, mode)
    w = warmup_bars(spec)
    n1 = len(V1_FEATURE_NAMES)
    # Its own 15 lines equal compute_features with its spec; the ta-v2 lines stay empty.
    offline = compute_features(frame, spec).to_numpy()
    np.testing.assert_allclose(lines[w:, :n1], offline[w:], rtol=0, atol=1e-9)
    assert np.isnan(lines[:, n1:]).all()
    # The signal is the model run by hand on the scaled v1 window.
    scaled = v1_artifact.scaler.transform(offline)
    L = v1_artifact.seq_len
    first = w + L - 1
    assert np.isfinite(signal[first:]).all() and np.isnan(signal[: first]).all()
    for i in (first, first + 100, len(frame) - 1):
        window = torch.from_numpy(np.ascontiguousarray(scaled[i - L + 1 : i + 1]))[None].float()
        with torch.no_grad():
            probs = torch.softmax(v1_artifact.model(window), dim=-1)[0].double().numpy()
        np.testing.assert_allclose(signal[i, :3], probs, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda s: {**s, "version": 2}, "version"),  # a v1 spec claiming to be v2
        (lambda s: {**s, "names": list(FEATURE_NAMES)}, "feature names"),
        (lambda s: {**s, "next_history": 500}, "next_history"),
    ],
)
def test_inconsistent_v1_specs_are_refused(change, match):
    raw = {k: v for k, v in v1_spec().to_dict().items() if k != "version"}
    assert FeatureSpec.from_dict(raw) == v1_spec()
    with pytest.raises(ArtifactError, match=match):
        FeatureSpec.from_dict(change(raw))


def test_a_v2_spec_needs_a_per_bar_window_long_enough_for_exact_parity():
    spec = FeatureSpec()
    assert spec.next_history >= spec.min_next_history() > 1500
    with pytest.raises(ArtifactError, match="next_history"):
        FeatureSpec.from_dict({**spec.to_dict(), "next_history": 768})
    assert FeatureSpec.from_dict(spec.to_dict()) == spec
