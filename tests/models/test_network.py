"""AttentionLSTM: default sizes and parameter counts, the forward pass against an op-by-op
reference and a value worked by hand, what a window output reads, the attention's residual path,
the position heads' ranges, and last-query attention equal to full self-attention."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from bt_attention_lstm.models.errors import ArtifactError, ConfigError
from bt_attention_lstm.models.nn.network import AttentionLSTM, ModelConfig


def test_default_sizes_are_the_design_ones():
    cfg = ModelConfig(n_features=15)
    assert (cfg.hidden, cfg.layers, cfg.dropout, cfg.heads, cfg.seq_len, cfg.n_classes) == (
        128,
        2,
        0.2,
        4,
        20,
        3,
    )
    model = AttentionLSTM(cfg)
    assert model.lstm.hidden_size == 128
    assert model.lstm.num_layers == 2
    assert model.lstm.dropout == pytest.approx(0.2)
    assert model.lstm.batch_first
    assert model.attention.num_heads == 4
    assert model.attention.embed_dim == 128
    assert model.input_proj.in_features == 15
    assert isinstance(model.attn_norm, nn.LayerNorm)
    assert model.head[-1].out_features == 3


def test_output_shape_is_batch_by_classes():
    torch.manual_seed(0)
    model = AttentionLSTM(ModelConfig(n_features=15, hidden=16, layers=1, heads=2)).eval()
    with torch.no_grad():
        out = model(torch.randn(7, 20, 15))
    assert out.shape == (7, 3)
    assert torch.isfinite(out).all()


def test_every_size_is_a_constructor_argument():
    cfg = ModelConfig(
        n_features=7, hidden=24, layers=3, heads=3, dropout=0.1, seq_len=5, n_classes=4
    )
    model = AttentionLSTM(cfg).eval()
    assert model.config is cfg
    assert model.input_proj.in_features == 7
    assert model.lstm.hidden_size == 24
    assert model.lstm.num_layers == 3
    assert model.lstm.dropout == pytest.approx(0.1)
    assert model.attention.num_heads == 3
    assert model.attention.dropout == pytest.approx(0.1)
    assert model.head[-1].out_features == 4
    with torch.no_grad():
        assert model(torch.randn(2, 5, 7)).shape == (2, 4)
    # one LSTM layer: no inter-layer dropout (torch warns otherwise)
    assert AttentionLSTM(ModelConfig(n_features=3, hidden=8, layers=1, heads=2)).lstm.dropout == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"hidden": 10, "heads": 4},
        {"hidden": 0},
        {"layers": 0},
        {"heads": 0},
        {"seq_len": 0},
        {"n_classes": 0},
        {"dropout": 1.0},
        {"dropout": -0.1},
        {"hidden": 16.0},
    ],
)
def test_invalid_sizes_are_config_errors(kwargs):
    with pytest.raises(ConfigError):
        ModelConfig(n_features=15, **kwargs)


def test_hidden_not_divisible_by_heads_names_both():
    with pytest.raises(ConfigError, match=r"`hidden`=10.*`heads`=4"):
        ModelConfig(n_features=15, hidden=10, heads=4)


def test_config_round_trip_and_bad_dict():
    cfg = ModelConfig(n_features=15, hidden=16, layers=1, heads=2, seq_len=10)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ArtifactError):
        ModelConfig.from_dict({**cfg.to_dict(), "heads": 3})
    with pytest.raises(ArtifactError):
        ModelConfig.from_dict({**cfg.to_dict(), "mystery": 1})


@pytest.mark.parametrize(("hidden", "heads", "layers"), [(16, 2, 1), (24, 4, 2)])
def test_last_query_attention_equals_full_self_attention_then_last_step(hidden, heads, layers):
    torch.manual_seed(3)
    cfg = ModelConfig(
        n_features=6, hidden=hidden, layers=layers, heads=heads, dropout=0.2, seq_len=9
    )
    model = AttentionLSTM(cfg).eval()
    full_attention = nn.MultiheadAttention(hidden, heads, batch_first=True).eval()
    full_attention.load_state_dict(model.attention.state_dict())
    x = torch.randn(5, cfg.seq_len, cfg.n_features, dtype=torch.float64)
    model = model.double()
    full_attention = full_attention.double()
    with torch.no_grad():
        seq, _ = model.lstm(model.input_proj(x))
        attended_all, _ = full_attention(seq, seq, seq, need_weights=False)  # every query
        z = model.attn_norm(seq + attended_all)
        z = model.ffn_norm(z + model.ffn(z))
        by_hand = model.head(z[:, -1, :])
        got = model(x)
    torch.testing.assert_close(got, by_hand, rtol=0, atol=1e-12)


def test_train_and_eval_modes_differ_only_by_dropout():
    torch.manual_seed(4)
    model = AttentionLSTM(ModelConfig(n_features=4, hidden=8, layers=1, heads=2, dropout=0.0))
    x = torch.randn(3, 20, 4)
    with torch.no_grad():
        a = model.train()(x)
        b = model.eval()(x)
    torch.testing.assert_close(a, b)


def reference_forward(model: AttentionLSTM, x: torch.Tensor) -> torch.Tensor:
    """The architecture of the docstring written out op by op from the model's own weights
    (one LSTM layer): a second, independent reading of what the network computes."""
    cfg = model.config
    h = cfg.hidden
    u = x @ model.input_proj.weight.T + model.input_proj.bias
    w_ih, w_hh = model.lstm.weight_ih_l0, model.lstm.weight_hh_l0
    b = model.lstm.bias_ih_l0 + model.lstm.bias_hh_l0
    state = torch.zeros(x.shape[0], h, dtype=x.dtype)
    cell = torch.zeros_like(state)
    steps = []
    for t in range(x.shape[1]):
        gates = u[:, t] @ w_ih.T + state @ w_hh.T + b
        i, f, g, o = gates.chunk(4, dim=1)  # torch's gate order
        cell = torch.sigmoid(f) * cell + torch.sigmoid(i) * torch.tanh(g)
        state = torch.sigmoid(o) * torch.tanh(cell)
        steps.append(state)
    seq = torch.stack(steps, dim=1)
    w_q, w_k, w_v = model.attention.in_proj_weight.chunk(3)
    b_q, b_k, b_v = model.attention.in_proj_bias.chunk(3)
    last = seq[:, -1]
    d = h // cfg.heads
    q = (last @ w_q.T + b_q).view(-1, cfg.heads, 1, d)
    k = (seq @ w_k.T + b_k).view(x.shape[0], -1, cfg.heads, d).transpose(1, 2)
    v = (seq @ w_v.T + b_v).view(x.shape[0], -1, cfg.heads, d).transpose(1, 2)
    weights = torch.softmax(q @ k.transpose(-1, -2) / d**0.5, dim=-1)
    attended = (weights @ v).reshape(-1, h)
    attended = attended @ model.attention.out_proj.weight.T + model.attention.out_proj.bias

    def layer_norm(z: torch.Tensor, norm: nn.LayerNorm) -> torch.Tensor:
        centred = z - z.mean(dim=-1, keepdim=True)
        scale = torch.sqrt(centred.pow(2).mean(dim=-1, keepdim=True) + norm.eps)
        return centred / scale * norm.weight + norm.bias

    z = layer_norm(last + attended, model.attn_norm)
    first, second = model.ffn_linears
    expanded = z @ first.weight.T + first.bias
    gelu = 0.5 * expanded * (1 + torch.erf(expanded / 2**0.5))
    z = layer_norm(z + gelu @ second.weight.T + second.bias, model.ffn_norm)
    return z @ model.head_linear.weight.T + model.head_linear.bias


@pytest.mark.parametrize(("hidden", "heads"), [(4, 1), (6, 2)])
def test_the_forward_pass_is_the_documented_architecture(hidden, heads):
    torch.manual_seed(5)
    cfg = ModelConfig(n_features=3, hidden=hidden, layers=1, heads=heads, seq_len=7, dropout=0.3)
    model = AttentionLSTM(cfg).double().eval()
    x = torch.randn(4, 7, 3, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference_forward(model, x), rtol=0, atol=1e-12)


def test_a_known_tiny_forward_value():
    # Every weight 0 and these biases: the LSTM's gates are all sigmoid(0) = 1/2 with a
    # candidate tanh(0) = 0, so every state is 0; attention then adds its output bias
    # (0, 2), which LayerNorm maps to (-1, 1) (eps aside); the zero feed-forward block adds 0
    # and the second LayerNorm keeps (-1, 1); the head reads 3 * (-1) + 1 * 1 + 0.5 = -1.5.
    cfg = ModelConfig(n_features=2, hidden=2, layers=1, heads=1, seq_len=3, dropout=0.0,
                      head="position")
    model = AttentionLSTM(cfg).double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        for norm in (model.attn_norm, model.ffn_norm):
            norm.weight.fill_(1.0)
        model.attention.out_proj.bias.copy_(torch.tensor([0.0, 2.0]))
        model.head_linear.weight.copy_(torch.tensor([[3.0, 1.0]]))
        model.head_linear.bias.fill_(0.5)
        out = model(torch.randn(2, 3, 2, dtype=torch.float64))
        position = model.position(torch.randn(1, 3, 2, dtype=torch.float64))
    eps_shrink = 1.0 / (1.0 + model.attn_norm.eps) ** 0.5  # LayerNorm divides by sqrt(1 + eps)
    expected = -2.0 * eps_shrink * (1.0 / (eps_shrink**2 + model.ffn_norm.eps) ** 0.5) + 0.5
    torch.testing.assert_close(out, torch.full((2, 1), expected, dtype=torch.float64))
    assert expected == pytest.approx(-1.5, abs=1e-4)
    torch.testing.assert_close(position, torch.tanh(torch.tensor([expected], dtype=torch.float64)))


def test_the_output_reads_every_bar_of_the_window_and_nothing_else():
    # Windows of a longer series, as the training and inference windows cut them: the output
    # for the window ending at bar t changes when a bar inside it changes, and not when a bar
    # before its start or after t does.
    torch.manual_seed(6)
    cfg = ModelConfig(n_features=3, hidden=8, layers=2, heads=2, seq_len=5, dropout=0.0)
    model = AttentionLSTM(cfg).double().eval()
    series = torch.randn(30, 3, dtype=torch.float64)

    def window_outputs(s: torch.Tensor) -> torch.Tensor:
        windows = s.unfold(0, cfg.seq_len, 1).transpose(1, 2)  # (n_windows, seq_len, features)
        with torch.no_grad():
            return model(windows)

    base = window_outputs(series)
    for changed_bar in (0, 12, 29):
        bumped = series.clone()
        bumped[changed_bar] += 1.0
        diff = (window_outputs(bumped) - base).abs().amax(dim=1)
        ends = torch.arange(cfg.seq_len - 1, len(series))
        inside = (ends >= changed_bar) & (ends - cfg.seq_len + 1 <= changed_bar)
        assert (diff[inside] > 1e-9).all(), changed_bar
        assert (diff[~inside] == 0).all(), changed_bar


def test_windows_of_a_batch_do_not_see_each_other():
    torch.manual_seed(7)
    model = AttentionLSTM(ModelConfig(n_features=4, hidden=8, layers=1, heads=2, seq_len=6))
    model = model.double().eval()
    x = torch.randn(5, 6, 4, dtype=torch.float64)
    with torch.no_grad():
        together = model(x)
        alone = torch.cat([model(x[i : i + 1]) for i in range(5)])
    torch.testing.assert_close(together, alone, rtol=0, atol=1e-12)


def test_attention_adds_to_the_last_state_through_the_residual_path():
    torch.manual_seed(8)
    cfg = ModelConfig(n_features=3, hidden=8, layers=1, heads=2, seq_len=6, dropout=0.0)
    model = AttentionLSTM(cfg).double().eval()
    x = torch.randn(4, 6, 3, dtype=torch.float64)
    with torch.no_grad():
        seq, _ = model.lstm(model.input_proj(x))
        with_attention = model(x)
        model.attention.out_proj.weight.zero_()
        model.attention.out_proj.bias.zero_()
        without_attention = model(x)
        # Attention silenced, the last LSTM state passes straight through the skip connection.
        z = model.attn_norm(seq[:, -1])
        by_hand = model.head(model.ffn_norm(z + model.ffn(z)))
    torch.testing.assert_close(without_attention, by_hand, rtol=0, atol=1e-12)
    assert (with_attention - without_attention).abs().max() > 1e-3


@pytest.mark.parametrize(("head", "low", "high"), [("position", -1.0, 1.0), ("long", 0.0, 1.0)])
def test_position_heads_stay_in_their_range_and_are_the_squashed_output(head, low, high):
    torch.manual_seed(9)
    cfg = ModelConfig(n_features=3, hidden=8, layers=1, heads=2, seq_len=4, head=head)
    model = AttentionLSTM(cfg).double().eval()
    with torch.no_grad():
        model.head_linear.weight.mul_(1e3)  # push z far out: the squash, not luck, bounds it
        x = torch.randn(64, 4, 3, dtype=torch.float64)
        raw = model(x)
        pos = model.position(x)
    assert raw.shape == (64, 1)
    squash = torch.tanh if head == "position" else torch.sigmoid
    torch.testing.assert_close(pos, squash(raw[:, 0]))
    assert (pos >= low).all() and (pos <= high).all()
    assert pos.min() < low + 0.01 and pos.max() > high - 0.01  # both ends are reached
    with pytest.raises(ValueError, match="position head"):
        AttentionLSTM(ModelConfig(n_features=3, hidden=8, heads=2)).position(x.float())


def expected_parameter_count(cfg: ModelConfig) -> int:
    h, outputs = cfg.hidden, cfg.n_classes if cfg.head == "classify" else 1
    input_proj = cfg.n_features * h + h
    lstm = cfg.layers * (4 * h * h * 2 + 4 * h * 2)  # input and recurrent weights, two biases
    attention = 4 * h * h + 4 * h  # q, k, v and output projections with biases
    ffn = (h * 2 * h + 2 * h) + (2 * h * h + h)
    norms = 2 * 2 * h
    return input_proj + lstm + attention + ffn + norms + h * outputs + outputs


@pytest.mark.parametrize(
    ("kwargs", "count"),
    [
        ({}, 399_107),  # the design's default: 15 features, hidden 128, 2 layers, 3 classes
        ({"hidden": 16, "layers": 1, "heads": 2}, 4_707),
        ({"hidden": 32, "layers": 3, "heads": 4, "head": "position"}, 34_433),
    ],
)
def test_parameter_counts_per_config(kwargs, count):
    cfg = ModelConfig(n_features=15, **kwargs)
    model = AttentionLSTM(cfg)
    assert sum(p.numel() for p in model.parameters()) == count == expected_parameter_count(cfg)
