"""Running a trained AttentionLSTM: batched over a history, or one window per bar.

Both paths scale raw feature rows with the artifact's scaler and feed windows that end at each
bar, so they give the same probabilities (to float rounding, <= 1e-5). Both run the
``FusedAttentionLSTM`` twin of the trained network (the same function, less arithmetic); the
per-bar path keeps every window containing the latest bar in flight (``InFlightWindows`` on
CUDA; on the CPU its numpy twin ``NumpyInFlightWindows`` for small networks, where torch's
per-call cost would be most of a bar's work, and for wider ones the torch windows with the
window's tail finished in numpy, ``NumpyTail``).
Calibration is already folded into each member's head (``models.training.calibration``); an
ensemble's
members run stacked as one network whose output is their averaged probability
(``models.nn.stacked_network``), so its cost grows with its size but its per-call overhead does not.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from bt_attention_lstm.models.artifact import Artifact
from bt_attention_lstm.models.config import ModelConfig
from bt_attention_lstm.models.device import resolve_device, torch_threads
from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.models.inference.inflight_windows import InFlightWindows
from bt_attention_lstm.models.inference.numpy_tail import NumpyTail
from bt_attention_lstm.models.inference.numpy_windows import NumpyInFlightWindows
from bt_attention_lstm.models.nn.fused_network import FusedAttentionLSTM, FusedNetwork
from bt_attention_lstm.models.nn.network import AttentionLSTM
from bt_attention_lstm.models.nn.stacked_network import StackedFusedEnsemble

logger = logging.getLogger(__name__)

# Windows per forward pass on CPU. With the default model, chunks of 128-512 windows ran at
# ~10.4k windows per CPU-second and 2,048 at ~8k: the per-step gate block (chunk x 4 x hidden
# floats) stops fitting the core's 1 MiB L2 cache. 256 also keeps both workers busy on short
# histories.
CPU_CHUNK = 256


def _networks(artifact: Artifact) -> tuple[AttentionLSTM, ...]:
    """The artifact's calibrated networks: an ensemble's members, or its one model."""
    if artifact.members:
        return artifact.members
    if not isinstance(artifact.model, AttentionLSTM):
        raise TypeError(f"an artifact without members holds an AttentionLSTM, "
                        f"not a {type(artifact.model).__name__}")
    return (artifact.model,)


def _fused_network(artifact: Artifact, device: torch.device, dtype: torch.dtype) -> FusedNetwork:
    """The network to run: the fused twin of a single model, or an ensemble's fused members
    stacked into one network whose softmax is their averaged probability
    (``models.nn.stacked_network``)."""
    # Built from the artifact's weights: one artifact can serve several feeds and devices.
    members = [FusedAttentionLSTM(m) for m in _networks(artifact)]
    network: FusedNetwork = members[0] if len(members) == 1 else StackedFusedEnsemble(members)
    return network.to(device=device, dtype=dtype)


# numpy's per-bar path wins while torch's per-call cost (~30 calls of ~8-17 us a bar here)
# outweighs numpy's slower float64 products. Interleaved on the development machine: the default
# model (3 x hidden 16 stacked, 1 layer, 10 bars; ~0.2 MFLOP a step) 0.18 ms numpy vs 0.51 ms
# torch; the design model (hidden 128 x 2 layers, 20 bars; ~7.9 MFLOP) 1.35 ms vs 1.18 ms.
NUMPY_MAX_STEP_FLOPS = 2_000_000


def numpy_per_bar(config: ModelConfig) -> bool:
    """Whether the CPU per-bar path should run in numpy: the LSTM products of one bar's step
    over the windows in flight (``config.hidden``: the stacked width of an ensemble) stay
    under ``NUMPY_MAX_STEP_FLOPS``."""
    width = config.hidden
    flops = 2 * config.seq_len * 4 * width * width * (2 * config.layers - 1)
    return flops <= NUMPY_MAX_STEP_FLOPS


class BatchedPredictor:
    """Probabilities for every window of a feature history, in batches on the device.

    On CPU the windows are split into ``threads`` contiguous parts, each run by its own worker
    thread with one intra-op thread in cache-sized chunks: the workers never wait on each
    other, unlike intra-op threads that meet at a barrier after every LSTM step (which collapses
    when another process holds a core). ``threads=None`` uses torch's intra-op thread count.
    ``dtype=torch.bfloat16`` is an opt-in (faster on CPUs with AVX-512 BF16 and on GPUs; its
    probabilities differ from float32 by ~1e-2, see docs/PERFORMANCE.md).
    """

    def __init__(
        self,
        artifact: Artifact,
        device: str | torch.device = "auto",
        batch_size: int = 4096,
        dtype: torch.dtype = torch.float32,
        threads: int | None = None,
    ) -> None:
        self.artifact = artifact
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.batch_size = int(batch_size)
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.dtype = dtype
        self.threads = threads
        self.model = _fused_network(artifact, self.device, dtype)
        on_cpu = self.device.type == "cpu"
        self.chunk = min(self.batch_size, CPU_CHUNK) if on_cpu else self.batch_size

    def _workers(self, n_windows: int) -> int:
        if self.device.type != "cpu":
            return 1
        wanted = self.threads if self.threads is not None else torch.get_num_threads()
        return max(1, min(wanted, n_windows // self.chunk))

    def _run(self, windows: torch.Tensor, out: torch.Tensor, lo: int, hi: int) -> None:
        """Probabilities of windows[lo:hi] into out[lo:hi] (float64, on the CPU)."""
        with torch.inference_mode():
            for b in range(lo, hi, self.chunk):
                e = min(b + self.chunk, hi)
                batch = windows[b:e].to(self.device, self.dtype, non_blocking=True)
                batch = batch.contiguous()
                probs = torch.softmax(self.model(batch).float(), dim=-1)
                out[b:e] = probs.double().cpu()

    def _run_one_thread(self, windows: torch.Tensor, out: torch.Tensor, lo: int, hi: int) -> None:
        torch.set_num_threads(1)  # this worker thread's own intra-op setting
        self._run(windows, out, lo, hi)

    def probabilities(self, features: np.ndarray, first_end: int, stop: int) -> np.ndarray:
        """(stop - first_end, 3) probabilities of the windows ending at bars first_end..stop-1.

        ``features`` are raw rows (n_bars, n_features); only rows first_end-L+1 .. stop-1 are
        read, and each window reads its own L rows, nothing after its last bar.
        """
        L = self.artifact.seq_len
        first_row = first_end - L + 1
        if first_row < 0:
            raise ValueError(f"the first window would start at bar {first_row}")
        scaled = self.artifact.scaler.transform(features[first_row:stop])
        if not np.isfinite(scaled).all():
            raise ValueError("a window holds an undefined feature (inside the warm-up?)")
        windows = torch.from_numpy(scaled).unfold(0, L, 1).transpose(1, 2)  # (n, L, F), a view
        n = windows.shape[0]
        out = torch.empty((n, 3), dtype=torch.float64)
        workers = self._workers(n)
        if workers == 1:
            # One intra-op thread on CPU as well: OpenMP threads meet at a barrier after every
            # LSTM step, and one window took 0.4 s instead of 3 ms with the other core busy.
            with torch_threads(1 if self.device.type == "cpu" else None):
                self._run(windows, out, 0, n)
            return out.numpy()
        bounds = np.linspace(0, n, workers + 1).astype(int)
        previous = torch.get_num_threads()
        try:
            with ThreadPoolExecutor(workers, thread_name_prefix="batched-inference") as pool:
                jobs = [
                    pool.submit(self._run_one_thread, windows, out, int(lo), int(hi))
                    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
                ]
                for job in jobs:
                    job.result()
        finally:
            torch.set_num_threads(previous)  # the workers' setting also reached MKL's global
        return out.numpy()


class StreamingPredictor:
    """One window per bar: push the bar's raw feature row, then predict.

    Every window containing the latest bar is kept in flight on the device (see
    ``models.inference.inflight_windows``): a push advances all of them by one step, and the window
    that
    ends at this bar is complete. State is fixed-size (seq_len windows), whatever the history.
    ``cuda_graphs=True`` (CUDA only) records each bar's work once per phase and replays it,
    removing the per-kernel launch cost.
    """

    def __init__(
        self,
        artifact: Artifact,
        device: str | torch.device = "auto",
        threads: int | None = 1,
        cuda_graphs: bool = False,
    ) -> None:
        self.artifact = artifact
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        # Batch-1 CPU inference is overhead-bound: one intra-op thread beats two here.
        self.threads = threads if self.device.type == "cpu" else None
        self.model = _fused_network(artifact, self.device, torch.float32)
        # On the CPU (no graphs) numpy runs a small network's steps with a fraction of torch's
        # per-call cost (models.inference.numpy_windows); larger ones and CUDA run the torch
        # windows.
        on_cpu_numpy = (self.device.type == "cpu" and not cuda_graphs
                        and numpy_per_bar(self.model.config))
        self._numpy = NumpyInFlightWindows(self.model) if on_cpu_numpy else None
        self._windows = None if on_cpu_numpy else InFlightWindows(self.model, self.device)
        # The torch windows on the CPU finish each bar's window with the tail in numpy, reading
        # their float32 outputs in place: at batch size one, torch's ~18 tail calls cost more
        # in dispatch than their arithmetic.
        self._cpu_tail = (NumpyTail(self.model, np.float32)
                          if self._windows is not None and self.device.type == "cpu"
                          and not cuda_graphs else None)
        n_features = artifact.feature_spec.n_features
        self._mean = artifact.scaler.mean
        self._scale = artifact.scaler.scale
        self._clip = artifact.scaler.clip
        self._scratch = np.empty(n_features, dtype=np.float64)
        self._host = torch.empty(n_features, dtype=torch.float32)  # scaled row, on the CPU
        self._host_np = self._host.numpy()  # shares memory with _host
        on_cpu = self.device.type == "cpu"
        self._x = self._host if on_cpu else torch.empty_like(self._host, device=self.device)
        self.count = 0
        self._graphs: list[torch.cuda.CUDAGraph] = []
        self._graph_probs: list[torch.Tensor] = []
        if cuda_graphs:
            if self.device.type != "cuda":
                raise ConfigError("cuda_graphs needs a CUDA device")
            self._capture_graphs()

    @property
    def ready(self) -> bool:
        return self.count >= self.artifact.seq_len

    def push(self, raw_row: np.ndarray) -> None:
        """Add the feature row of a new bar (it ends one window and starts another)."""
        np.subtract(raw_row, self._mean, out=self._scratch)
        np.divide(self._scratch, self._scale, out=self._scratch)
        np.clip(self._scratch, -self._clip, self._clip, out=self._scratch)
        self._host_np[:] = self._scratch  # float64 -> float32, as the scaler's transform
        phase = self.count % self.artifact.seq_len
        if self._numpy is not None:
            self._numpy.step(self._host_np, phase)  # float32, as the batched path reads it
            self.count += 1
            return
        if self._x is not self._host:
            self._x.copy_(self._host)
        if self._graphs:
            self._graphs[phase].replay()
        else:
            with torch_threads(self.threads), torch.inference_mode():
                self._torch_windows().step(self._x, phase)
        self.count += 1

    def predict(self) -> np.ndarray:
        """Probabilities (down, flat, up) of the window ending at the latest bar."""
        if not self.ready:
            raise ValueError(
                f"{self.count} rows pushed; a window needs {self.artifact.seq_len}"
            )
        phase = (self.count - 1) % self.artifact.seq_len
        if self._numpy is not None:
            return self._numpy.probabilities(phase)
        if self._cpu_tail is not None:
            return self._cpu_tail.probabilities(self._torch_windows().finished_window_array(phase))
        if self._graphs:
            probs = self._graph_probs[phase]
        else:
            with torch_threads(self.threads), torch.inference_mode():
                probs = self._probs(phase)
        return probs.cpu().numpy()[0].astype(np.float64)

    def _torch_windows(self) -> InFlightWindows:
        if self._windows is None:
            raise RuntimeError("this predictor runs its windows in numpy")
        return self._windows

    def _probs(self, phase: int) -> torch.Tensor:
        return torch.softmax(self._torch_windows().logits(phase), dim=-1)

    def _capture_graphs(self) -> None:
        """One CUDA graph per phase (bar index mod seq_len): the step, attention and head, then
        the softmax (an ensemble's members are stacked into the one network)."""
        L = self.artifact.seq_len
        windows = self._torch_windows()
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side), torch.no_grad():  # warm-up: kernels, cuBLAS workspace
            for phase in range(L):
                windows.step(self._x, phase)
                self._probs(phase)
        torch.cuda.current_stream(self.device).wait_stream(side)
        with torch.no_grad():
            for phase in range(L):
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    windows.step(self._x, phase)
                    probs = self._probs(phase)
                self._graphs.append(graph)
                self._graph_probs.append(probs)
        windows.reset()
