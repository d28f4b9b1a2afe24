"""ModelSignal: the AttentionLSTM's probabilities as backtrader lines."""

from __future__ import annotations

import logging

import backtrader as bt
import numpy as np

from bt_attention_lstm.indicators.feature_vector import FeatureVector, line_values, write_line
from bt_attention_lstm.indicators.run_guards import refuse_replay
from bt_attention_lstm.models.artifact import Artifact, load_artifact
from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.models.features.compute import warmup_bars
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
    lines = ("p_down", "p_flat", "p_up", "confidence")
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

    def __init__(self, features: FeatureVector | None = None) -> None:
        refuse_replay(self)  # a forming bar must not reach the model: completed bars only
        artifact: Artifact = self.p.artifact or load_artifact(self.p.model_path)
        self.artifact = artifact
        threshold, base = float(self.p.threshold), float(self.p.base_rate)
        self.plotinfo.plothlines = [base + threshold, base, base - threshold]
        self.plotinfo.plotyticks = [-1.0, base - threshold, base, base + threshold, 1.0]
        if artifact.model_config.head != "classify":
            # a position head's p_* lines only restate its position: cerebro.plot() draws the
            # position alone on its own subplot
            for name in ("p_down", "p_flat", "p_up"):
                getattr(self.plotlines, name)._plotskip = True
            self.plotlines.confidence._name = "position"
        self.features = features
        if self.features is None:
            self.features = FeatureVector(self.data, spec=artifact.feature_spec)
        elif self.features.p.spec != artifact.feature_spec:
            raise ConfigError("the FeatureVector given to ModelSignal has another feature spec")
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
    def _push_current_row(self) -> bool:
        """Feed this bar's feature row to the windows in flight, once per bar."""
        n = len(self.data)
        if n == self._last_len or n < self._feature_minperiod:
            return False
        self._last_len = n
        if self._streaming is None:
            self._streaming = StreamingPredictor(self.artifact, self.p.device, self.p.threads)
        row = np.fromiter(
            (line[0] for line in self.features.model_lines),
            dtype=np.float64,
            count=self.artifact.feature_spec.n_features,
        )
        self._streaming.push(row)
        return True

    def prenext(self) -> None:
        self._push_current_row()

    def next(self) -> None:
        if not self._push_current_row():
            return  # same bar seen again (another feed advanced): lines already hold it
        p_down, p_flat, p_up = self._streaming.predict()
        self.lines.p_down[0] = p_down
        self.lines.p_flat[0] = p_flat
        self.lines.p_up[0] = p_up
        self.lines.confidence[0] = p_up - p_down

    # -- whole history (runonce) -----------------------------------------------------------
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
        write_line(self.lines.p_down, start, probs[:, 0])
        write_line(self.lines.p_flat, start, probs[:, 1])
        write_line(self.lines.p_up, start, probs[:, 2])
        write_line(self.lines.confidence, start, probs[:, 2] - probs[:, 0])
