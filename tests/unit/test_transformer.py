"""C5W4's Transformer parts (pipelines/models/transformer.py) against torch's own attention, values and gradients,
and the encoder-decoder network's masks at work."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from pipelines.models import transformer as tf


def test_positional_encoding_is_the_papers_sines_and_cosines():
    pe = tf.positional_encoding(50, 16)
    assert pe.shape == (1, 50, 16)
    assert torch.equal(pe[0, 0], torch.tensor([0.0, 1.0] * 8))  # position 0: sin 0, cos 0
    for pos, i in ((1, 0), (7, 3), (49, 7)):
        angle = pos / 10000 ** (2 * i / 16)
        assert pe[0, pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
        assert pe[0, pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


def test_masks_mark_what_attention_may_look_at():
    assert tf.create_padding_mask(torch.tensor([[7, 6, 0, 0, 1]])).tolist() == [[[[1.0, 1.0, 0.0, 0.0, 1.0]]]]
    assert tf.create_look_ahead_mask(3)[0, 0].tolist() == [[1, 0, 0], [1, 1, 0], [1, 1, 1]]


@pytest.mark.parametrize("masking", ["none", "padding", "look_ahead"])
def test_scaled_dot_product_attention_matches_torch(masking):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 5, 8, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(3))
    mask = {"none": None, "padding": tf.create_padding_mask(torch.tensor([[1, 2, 3, 0, 0], [4, 5, 0, 0, 0]])),
            "look_ahead": tf.create_look_ahead_mask(5)}[masking]
    ours, weights = tf.scaled_dot_product_attention(q, k, v, None if mask is None else mask.double())
    theirs = F.scaled_dot_product_attention(q, k, v, attn_mask=None if mask is None else mask.bool())
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 5, dtype=torch.float64))
    if mask is not None:
        assert float(weights.detach().masked_select(mask.expand_as(weights) == 0).abs().max()) < 1e-12
    g_out = torch.randn(ours.shape, generator=g, dtype=torch.float64)
    mine = torch.autograd.grad(ours, (q, k, v), g_out)
    ref = torch.autograd.grad(theirs, (q, k, v), g_out)
    for a, b in zip(mine, ref, strict=True):
        torch.testing.assert_close(a, b)


def test_multi_head_attention_matches_torch_multihead_attention():
    torch.manual_seed(0)
    ours = tf.MultiHeadAttention(16, 4).double()
    ref = torch.nn.MultiheadAttention(16, 4, batch_first=True).double()
    with torch.no_grad():  # the same weights: torch keeps q, k, v projections stacked
        ref.in_proj_weight.copy_(torch.cat([ours.wq.weight, ours.wk.weight, ours.wv.weight]))
        ref.in_proj_bias.copy_(torch.cat([ours.wq.bias, ours.wk.bias, ours.wv.bias]))
        ref.out_proj.weight.copy_(ours.wo.weight)
        ref.out_proj.bias.copy_(ours.wo.bias)
    query = torch.randn(2, 4, 16, dtype=torch.float64, requires_grad=True)
    memory = torch.randn(2, 6, 16, dtype=torch.float64, requires_grad=True)
    ids = torch.tensor([[3, 4, 5, 6, 0, 0], [1, 2, 0, 0, 0, 0]])
    out, weights = ours(query, memory, memory, tf.create_padding_mask(ids).double())
    expected, expected_weights = ref(query, memory, memory, key_padding_mask=ids == 0)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(weights.mean(1), expected_weights)  # torch averages the heads' maps
    g = torch.randn(out.shape, dtype=torch.float64)
    mine = torch.autograd.grad(out, (query, memory, ours.wq.weight, ours.wo.weight), g)
    theirs = torch.autograd.grad(expected, (query, memory, ref.in_proj_weight, ref.out_proj.weight), g)
    torch.testing.assert_close(mine[0], theirs[0])
    torch.testing.assert_close(mine[1], theirs[1])
    torch.testing.assert_close(mine[2], theirs[2][:16])
    torch.testing.assert_close(mine[3], theirs[3])
    with pytest.raises(ValueError, match="not a multiple of num_heads"):
        tf.MultiHeadAttention(10, 4)


def small(**kw):
    torch.manual_seed(0)
    return tf.Transformer(num_layers=2, d_model=32, num_heads=4, dff=64, input_vocab=20, target_vocab=20,
                          max_positions=16, **kw)


def test_the_decoder_never_sees_the_future_nor_the_padding():
    model = small().eval()
    source = torch.tensor([[5, 6, 7, 8, 0, 0]])
    target = torch.tensor([[1, 9, 10, 11, 12]])
    logits, weights = model(source, target)
    assert logits.shape == (1, 5, 20) and weights["decoder_layer2_block2"].shape == (1, 4, 5, 6)
    changed = target.clone()
    changed[0, 3] = 3  # a later token differs: positions 0-2 answer the same
    torch.testing.assert_close(model(source, changed)[0][:, :3], logits[:, :3])
    assert not torch.allclose(model(source, changed)[0][:, 3:], logits[:, 3:])
    longer = torch.tensor([[5, 6, 7, 8, 0, 0, 0, 0]])  # more padding changes nothing
    torch.testing.assert_close(model(longer, target)[0], logits)
    assert float(weights["decoder_layer1_block2"][..., 4:].detach().abs().max()) < 1e-9  # no attention on padding
    with pytest.raises(ValueError, match="longer than max_positions 16"):
        model(torch.ones(1, 17, dtype=torch.long), target)


def test_it_learns_to_reverse_short_sequences():
    """A smoke test of the whole network: teacher-forced training on 64 sequences, then greedy decoding."""
    model = small(dropout=0.0)
    g = torch.Generator().manual_seed(1)
    source = torch.randint(3, 20, (64, 5), generator=g)
    target = torch.cat([torch.ones(64, 1, dtype=torch.long), source.flip(1)], dim=1)  # 1 starts the answer
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(200):
        logits, _ = model(source, target[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, 20), target[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        out = torch.ones(64, 1, dtype=torch.long)
        for _ in range(5):
            out = torch.cat([out, model(source, out)[0][:, -1].argmax(-1, keepdim=True)], dim=1)
    assert (out[:, 1:] == source.flip(1)).float().mean() > 0.95
