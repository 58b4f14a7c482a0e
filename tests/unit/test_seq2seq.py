"""The attention seq2seq: shapes, masking, attention weights, greedy vs beam search."""

import pytest
import torch

from pipelines.models.seq2seq_attention import BOS, EOS, PAD, Seq2SeqAttention, Seq2SeqConfig


@pytest.fixture
def model():
    torch.manual_seed(0)
    return Seq2SeqAttention(Seq2SeqConfig(src_vocab=20, tgt_vocab=9, ty=6, emb=8, n_a=8, n_s=16)).eval()


def batch(lengths, vocab=20, seed=1):
    g = torch.Generator().manual_seed(seed)
    src = torch.full((len(lengths), max(lengths)), PAD)
    for i, n in enumerate(lengths):
        src[i, :n] = torch.randint(2, vocab, (n,), generator=g)
    return src


def test_teacher_forced_logits_shape(model):
    src = batch([7, 4, 9])
    tgt_in = torch.full((3, 6), BOS)
    assert model(src, tgt_in).shape == (3, 6, 9)


def test_padding_does_not_change_the_output(model):
    src = batch([5])
    padded = torch.cat([src, torch.full((1, 7), PAD)], dim=1)
    tgt_in = torch.full((1, 6), BOS)
    torch.testing.assert_close(model(src, tgt_in), model(padded, tgt_in))


def test_attention_weights_sum_to_one_and_ignore_padding(model):
    src = batch([3, 6])
    a, a_proj, mask = model.encode(src)
    _, alphas = model.attention(torch.zeros(2, 16), a, a_proj, mask)
    torch.testing.assert_close(alphas.sum(-1), torch.ones(2))
    assert float(alphas[0, 3:].detach().abs().sum()) == 0.0


def test_beam_width_one_equals_greedy(model):
    src = batch([4, 8, 6, 5], seed=3)
    g_tok, g_score, g_len = model.greedy(src)
    b_tok, b_score, b_len = model.beam_search(src, beam_size=1, length_norm=0.0)
    assert torch.equal(g_tok, b_tok[:, : g_tok.size(1)])
    torch.testing.assert_close(g_score, b_score)
    assert torch.equal(g_len, b_len)


def test_wider_beam_never_finds_a_worse_fixed_length_hypothesis():
    # With no EOS reachable (all outputs run to max length), beam search with width k keeps the
    # k best prefixes: its best full sequence scores at least the greedy one.
    torch.manual_seed(4)
    net = Seq2SeqAttention(Seq2SeqConfig(src_vocab=20, tgt_vocab=9, ty=6, emb=8, n_a=8, n_s=16)).eval()
    with torch.no_grad():
        net.out.bias[2] = -1e4  # EOS never chosen
    src = batch([5, 7, 3], seed=5)
    _, greedy_score, _ = net.greedy(src)
    _, beam_score, _ = net.beam_search(src, beam_size=4, length_norm=0.0)
    assert torch.all(beam_score >= greedy_score - 1e-5)


def test_decoders_keep_to_the_transition_mask(model):
    g = torch.Generator().manual_seed(7)
    allowed = torch.rand(6, 9, 9, generator=g) < 0.3
    allowed[..., 3] = True  # every (step, previous token) allows at least one token
    allowed[..., PAD] = False  # so PAD in the output only follows EOS
    src = batch([4, 8, 6, 5, 7], seed=8)
    for tokens in (model.greedy(src, allowed=allowed)[0], model.beam_search(src, beam_size=3, allowed=allowed)[0]):
        for row in tokens.tolist():
            prev = BOS
            for t, tok in enumerate(row):
                if prev == EOS or tok == PAD:
                    break
                assert allowed[t, prev, tok], (t, prev, tok)
                prev = tok


def test_the_mask_changes_nothing_when_it_allows_everything(model):
    src = batch([4, 8, 6], seed=9)
    everything = torch.ones(6, 9, 9, dtype=torch.bool)
    assert torch.equal(model.greedy(src)[0], model.greedy(src, allowed=everything)[0])
    b, m = model.beam_search(src, beam_size=3), model.beam_search(src, beam_size=3, allowed=everything)
    assert torch.equal(b[0], m[0]) and torch.equal(b[1], m[1])
