"""ModelSignal: the AttentionLSTM's probabilities as backtrader lines."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import backtrader as bt
import numpy as np
import torch

from bt_attention_lstm.indicators.feature_vector import FeatureVector, line_values, write_line
from bt_attention_lstm.indicators.line_advance import advance_lines
from bt_attention_lstm.indicators.run_guards import refuse_replay
from bt_attention_lstm.models.artifact import Artifact, load_artifact
from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.models.features.compute import warmup_bars
from bt_attention_lstm.models.inference.frame_predictions import SIGNAL_COLUMNS
from bt_attention_lstm.models.inference.predictors import BatchedPredictor, StreamingPredictor

logger = logging.getLogger(__name__)


class ModelSignal(bt.Indicator):
    """Probabilities of down / flat / up over the model's horizon, and their confidence.

    Formula: p = softmax(AttentionLSTM(scaled window of the last ``seq_len`` feature rows));
    confidence = p_up - p_down, in [-1, 1].

    - runonce: ``once`` scales the preloaded feature arrays and runs every window through the
      model in batches on the device (each window ends at its own bar).
    - next mode, ``preload=False`` and live feeds: ``next`` pushes one feature row into the
      fixed-size state of the seq_len windows in flight on the device (each advanced one LSTM
      step per bar, see ``models.inference.inflight_windows``) and finishes the window ending at
      this bar.

    minperiod = feature warm-up (FeatureVector's minperiod) + seq_len - 1; nothing undefined
    ever reaches the model.

    Params: ``model_path`` (artifact directory), or ``artifact`` (an already loaded one, to share
    it between feeds); ``device`` ("auto" = CUDA when available, else CPU); ``batch_size``:
    windows per forward pass of the batched path on a GPU (on CPU it is capped at cache-sized
    chunks of ``models.inference.predictors.CPU_CHUNK`` windows, run by one worker thread per torch
    thread); ``threads`` (intra-op threads of the per-bar path on CPU; 1 is fastest for
    batch-1 inference); ``threshold`` (0.2) and ``base_rate`` (0.0): ``cerebro.plot()`` draws
    the entry lines at base_rate +/- threshold (AttentionLSTMStrategy passes its base rate).

    Keyword argument (not a param, so plot labels stay plain text): ``features``, a
    FeatureVector of the same data to reuse. Pass one when the strategy reads feature lines
    too: in runonce mode backtrader only advances the strategy's own indicators, so a
    sub-indicator's ``[0]`` is not the current bar there.

    The lines appear in ``WriterFile`` output (``csv = True``). A feed shorter than minperiod
    leaves every line NaN (nothing crashes); ``AttentionLSTMStrategy`` warns about it.
    """

    alias = ("AttentionLSTMSignal",)
    lines = SIGNAL_COLUMNS  # p_down, p_flat, p_up, confidence: predict_frame's columns
    params = (
        ("model_path", None),
        ("artifact", None),
        ("device", "auto"),
        ("batch_size", 4096),
        ("threads", 1),
        ("threshold", 0.2),
        ("base_rate", 0.0),
    )
    plotinfo = dict(subplot=True, plotname="ModelSignal", plotymargin=0.05)
    plotlines = dict(confidence=dict(_name="confidence"))
    csv = True  # WriterFile writes the probabilities with the bars

    if TYPE_CHECKING:

        def __init__(
            self,
            *datas: bt.LineSeries,
            model_path: str | os.PathLike[str] | None = ...,
            artifact: Artifact | None = ...,
            device: str | torch.device = ...,
            batch_size: int = ...,
            threads: int | None = ...,
            threshold: float = ...,
            base_rate: float = ...,
            features: FeatureVector | None = None,
        ) -> None:
            """The call a ModelSignal is built with: backtrader's metaclass takes the data feed
            and the params out of it before ``__init__`` runs, which receives ``features``."""

    else:

        def __init__(self, features: FeatureVector | None = None) -> None:
            self._setup(features)

    def _setup(self, features: FeatureVector | None) -> None:
        refuse_replay(self)  # a forming bar must not reach the model: completed bars only
        artifact: Artifact = self.p.artifact or load_artifact(self.p.model_path)
        self.artifact = artifact
        threshold, base = float(self.p.threshold), float(self.p.base_rate)
        # backtrader turns the plotinfo and plotlines dicts above into objects with one
        # attribute per key, and ships no types that could say so.
        hlines = [base + threshold, base, base - threshold]
        yticks = [-1.0, base - threshold, base, base + threshold, 1.0]
        self.plotinfo.plothlines = hlines  # type: ignore[attr-defined]
        self.plotinfo.plotyticks = yticks  # type: ignore[attr-defined]
        if artifact.model_config.head != "classify":
            # a position head's p_* lines only restate its position: cerebro.plot() draws the
            # position alone on its own subplot
            for name in ("p_down", "p_flat", "p_up"):
                getattr(self.plotlines, name)._plotskip = True
            self.plotlines.confidence._name = "position"  # type: ignore[attr-defined]
        if features is None:
            features = FeatureVector(self.data, spec=artifact.feature_spec)
        elif features.p.spec != artifact.feature_spec:
            raise ConfigError("the FeatureVector given to ModelSignal has another feature spec")
        self.features = features
        # backtrader makes each name of ``lines`` an attribute of self.lines
        self._signal_lines = [getattr(self.lines, name) for name in SIGNAL_COLUMNS]
        self._feature_minperiod = warmup_bars(artifact.feature_spec) + 1
        self.addminperiod(self._feature_minperiod + artifact.seq_len - 1)
        self._batched: BatchedPredictor | None = None
        self._streaming: StreamingPredictor | None = None
        self._last_len = 0

    def _plotlabel(self) -> list[str]:
        # backtrader labels a plot with str() of every param: an Artifact would flood it.
        label = [f"model {self.artifact.weights_sha256[:8]}", f"threshold {self.p.threshold:g}"]
        return label + ([f"base rate {self.p.base_rate:+.3f}"] if self.p.base_rate else [])

    # -- per bar ----------------------------------------------------------------------------
    def _push_current_row(self) -> StreamingPredictor | None:
        """Feed this bar's feature row to the windows in flight, once per bar: the predictor
        that holds it, or None when this bar brought no new row."""
        n = len(self.data)
        if n == self._last_len or n < self._feature_minperiod:
            return None
        self._last_len = n
        if self._streaming is None:
            self._streaming = StreamingPredictor(self.artifact, self.p.device, self.p.threads)
        row = np.fromiter(
            (line[0] for line in self.features.model_lines),
            dtype=np.float64,
            count=self.artifact.feature_spec.n_features,
        )
        self._streaming.push(row)
        return self._streaming

    def prenext(self) -> None:
        self._push_current_row()

    def next(self) -> None:
        streaming = self._push_current_row()
        if streaming is None:
            return  # same bar seen again (another feed advanced): lines already hold it
        p_down, p_flat, p_up = streaming.predict()
        for line, value in zip(
            self._signal_lines, (p_down, p_flat, p_up, p_up - p_down), strict=True
        ):
            line[0] = value

    # -- whole history (runonce) -----------------------------------------------------------
    def advance(self, size: int = 1) -> None:
        """Runonce's per-bar step: the lines move forward in one loop (``advance_lines``)."""
        advance_lines(self, size)

    def once(self, start: int, end: int) -> None:
        # backtrader calls once(minperiod - 1, minperiod) even when the feed is shorter than
        # minperiod: only bars that exist can be predicted.
        end = min(end, self.data.buflen())
        if start >= end:
            return
        if self._batched is None:
            self._batched = BatchedPredictor(
                self.artifact, self.p.device, self.p.batch_size, threads=None
            )
        first_row = start - self.artifact.seq_len + 1
        features = np.column_stack(
            [line_values(line, end)[first_row:] for line in self.features.model_lines]
        )
        probs = self._batched.probabilities(features, self.artifact.seq_len - 1, features.shape[0])
        columns = (probs[:, 0], probs[:, 1], probs[:, 2], probs[:, 2] - probs[:, 0])
        for line, values in zip(self._signal_lines, columns, strict=True):
            write_line(line, start, values)
