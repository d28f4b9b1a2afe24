"""AttentionLSTM: default sizes, every size a parameter, and last-query attention equal to full
self-attention followed by taking the last step."""

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
    with pytest.raises(ConfigError, match=r"hidden \(10\).*heads \(4\)"):
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
