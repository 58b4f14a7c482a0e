"""Course 5 week 4's Transformer, built from the parts the notebook builds, in torch: positional encoding, the
padding and look-ahead masks, scaled dot-product attention, multi-head attention, the encoder and decoder layers,
and the encoder-decoder network. ``tests/unit/test_transformer.py`` checks the attention against
``torch.nn.functional.scaled_dot_product_attention`` and ``torch.nn.MultiheadAttention`` (values and gradients).

    model = Transformer(num_layers=2, d_model=64, num_heads=4, dff=128, input_vocab=100, target_vocab=120)
    logits, weights = model(source_ids, target_ids)       # (batch, target_len, target_vocab), attention maps

Translation decodes with ``greedy`` and ``beam_search``: the source is encoded once, and each step runs the decoder
on the newest token only (``decode_step``), its self-attention reading the keys and values of the earlier tokens
from a cache, so a sentence of n tokens costs O(n) decoder passes of one position, not O(n^2).

    tokens, scores = model.beam_search(source_ids, bos=2, eos=3, beam=4, length_penalty=0.6, max_len=100)

Masks follow the notebook's convention: 1 where attention may look, 0 where it may not. A padding mask is
``(batch, 1, 1, seq)``; the look-ahead mask ``(1, 1, seq, seq)`` is lower-triangular; both broadcast over heads
and query positions, and ``scaled_dot_product_attention`` adds ``(1 - mask) x -1e9`` to the logits.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


def positional_encoding(positions: int, d_model: int) -> torch.Tensor:
    """(1, positions, d_model): PE(pos, 2i) = sin(pos / 10000^(2i / d)), PE(pos, 2i + 1) = cos(the same angle)."""
    pos = np.arange(positions)[:, None]
    i = np.arange(d_model)[None, :]
    angles = pos / np.power(10000, (2 * (i // 2)) / d_model)
    angles[:, 0::2] = np.sin(angles[:, 0::2])
    angles[:, 1::2] = np.cos(angles[:, 1::2])
    return torch.tensor(angles[None], dtype=torch.float32)


def create_padding_mask(token_ids: torch.Tensor, pad_id: int = 0) -> torch.Tensor:
    """(batch, 1, 1, seq): 1 for a real token, 0 for padding."""
    return (token_ids != pad_id).float()[:, None, None, :]


def create_look_ahead_mask(size: int) -> torch.Tensor:
    """(1, 1, size, size): position i may look at positions 0..i."""
    return torch.tril(torch.ones(size, size))[None, None]


def scaled_dot_product_attention(q, k, v, mask=None):
    """softmax(q k^T / sqrt(d_k) + (1 - mask) x -1e9) v; returns (output, attention weights)."""
    logits = q @ k.transpose(-2, -1) / math.sqrt(k.shape[-1])
    if mask is not None:
        logits = logits + (1.0 - mask) * -1e9
    weights = torch.softmax(logits, dim=-1)
    return weights @ v, weights


class MultiHeadAttention(nn.Module):
    """Project queries, keys and values, split d_model into ``num_heads`` heads, attend in each, concatenate and
    project back (Vaswani et al. 2017, as the course's ``MultiHeadAttention`` layer)."""

    def __init__(self, d_model: int, num_heads: int):
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"d_model {d_model} is not a multiple of num_heads {num_heads}")
        self.num_heads, self.depth = num_heads, d_model // num_heads
        self.wq, self.wk, self.wv, self.wo = (nn.Linear(d_model, d_model) for _ in range(4))

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, seq, _ = x.shape
        return x.view(batch, seq, self.num_heads, self.depth).transpose(1, 2)  # (batch, heads, seq, depth)

    def forward(self, query, key, value, mask=None):
        q, k, v = self.split_heads(self.wq(query)), self.split_heads(self.wk(key)), self.split_heads(self.wv(value))
        out, weights = scaled_dot_product_attention(q, k, v, mask)
        batch, _, seq, _ = out.shape
        return self.wo(out.transpose(1, 2).reshape(batch, seq, -1)), weights


def feed_forward(d_model: int, dff: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_model, dff), nn.ReLU(), nn.Linear(dff, d_model))


class EncoderLayer(nn.Module):
    """Self-attention, then the feed-forward network, each with dropout, a residual and layer norm."""

    def __init__(self, d_model: int, num_heads: int, dff: int, dropout: float = 0.1, eps: float = 1e-6):
        super().__init__()
        self.mha, self.ffn = MultiHeadAttention(d_model, num_heads), feed_forward(d_model, dff)
        self.norm1, self.norm2 = nn.LayerNorm(d_model, eps=eps), nn.LayerNorm(d_model, eps=eps)
        self.drop1, self.drop2 = nn.Dropout(dropout), nn.Dropout(dropout)

    def forward(self, x, mask=None):
        x = self.norm1(x + self.drop1(self.mha(x, x, x, mask)[0]))
        return self.norm2(x + self.drop2(self.ffn(x)))


class DecoderLayer(nn.Module):
    """Masked self-attention, attention over the encoder's output, then the feed-forward network."""

    def __init__(self, d_model: int, num_heads: int, dff: int, dropout: float = 0.1, eps: float = 1e-6):
        super().__init__()
        self.self_mha, self.cross_mha = MultiHeadAttention(d_model, num_heads), MultiHeadAttention(d_model, num_heads)
        self.ffn = feed_forward(d_model, dff)
        self.norms = nn.ModuleList(nn.LayerNorm(d_model, eps=eps) for _ in range(3))
        self.drops = nn.ModuleList(nn.Dropout(dropout) for _ in range(3))

    def forward(self, x, memory, look_ahead_mask=None, padding_mask=None):
        attn, self_weights = self.self_mha(x, x, x, look_ahead_mask)
        x = self.norms[0](x + self.drops[0](attn))
        attn, cross_weights = self.cross_mha(x, memory, memory, padding_mask)
        x = self.norms[1](x + self.drops[1](attn))
        return self.norms[2](x + self.drops[2](self.ffn(x))), self_weights, cross_weights


class Transformer(nn.Module):
    """Embeddings scaled by sqrt(d_model) plus positional encoding, ``num_layers`` encoder and decoder layers, and a
    final linear layer to the target vocabulary (the softmax is in the loss)."""

    def __init__(self, num_layers: int, d_model: int, num_heads: int, dff: int, input_vocab: int,
                 target_vocab: int, max_positions: int = 512, dropout: float = 0.1, pad_id: int = 0):
        super().__init__()
        self.d_model, self.pad_id = d_model, pad_id
        self.src_embed, self.tgt_embed = nn.Embedding(input_vocab, d_model), nn.Embedding(target_vocab, d_model)
        self.register_buffer("pe", positional_encoding(max_positions, d_model), persistent=False)
        self.drop_src, self.drop_tgt = nn.Dropout(dropout), nn.Dropout(dropout)
        self.encoder = nn.ModuleList(EncoderLayer(d_model, num_heads, dff, dropout) for _ in range(num_layers))
        self.decoder = nn.ModuleList(DecoderLayer(d_model, num_heads, dff, dropout) for _ in range(num_layers))
        self.out = nn.Linear(d_model, target_vocab)

    def embed(self, table: nn.Embedding, ids: torch.Tensor, drop: nn.Dropout) -> torch.Tensor:
        if ids.shape[1] > self.pe.shape[1]:
            raise ValueError(f"a sequence of {ids.shape[1]} tokens is longer than max_positions {self.pe.shape[1]}")
        return drop(table(ids) * math.sqrt(self.d_model) + self.pe[:, :ids.shape[1]])

    def encode(self, source_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = create_padding_mask(source_ids, self.pad_id)
        x = self.embed(self.src_embed, source_ids, self.drop_src)
        for layer in self.encoder:
            x = layer(x, mask)
        return x, mask

    def decode(self, target_ids: torch.Tensor, memory: torch.Tensor, source_mask: torch.Tensor):
        look_ahead = create_look_ahead_mask(target_ids.shape[1]).to(target_ids.device)
        mask = look_ahead * create_padding_mask(target_ids, self.pad_id)  # neither the future nor padding
        x, weights = self.embed(self.tgt_embed, target_ids, self.drop_tgt), {}
        for i, layer in enumerate(self.decoder):
            x, weights[f"decoder_layer{i + 1}_block1"], weights[f"decoder_layer{i + 1}_block2"] = layer(
                x, memory, mask, source_mask)
        return self.out(x), weights

    def forward(self, source_ids: torch.Tensor, target_ids: torch.Tensor):
        memory, source_mask = self.encode(source_ids)
        return self.decode(target_ids, memory, source_mask)

    # -- decoding ---------------------------------------------------------------------------------
    def start_cache(self, memory: torch.Tensor, source_mask: torch.Tensor) -> dict:
        """What ``decode_step`` reads: each decoder layer's keys and values of the encoder's output (computed
        once per sentence) and of the target tokens decoded so far (none yet)."""
        layers = [{"memory": (layer.cross_mha.split_heads(layer.cross_mha.wk(memory)),
                              layer.cross_mha.split_heads(layer.cross_mha.wv(memory))), "self": None}
                  for layer in self.decoder]
        return {"source_mask": source_mask, "layers": layers, "step": 0}

    @staticmethod
    def reorder_cache(cache: dict, index: torch.Tensor) -> dict:
        """The cache of the rows ``index`` picks (beam search keeps the hypotheses it extends)."""
        def pick(value):
            if isinstance(value, torch.Tensor):
                return value.index_select(0, index)
            if isinstance(value, (list, tuple)):
                return type(value)(pick(v) for v in value)
            if isinstance(value, dict):
                return {k: pick(v) for k, v in value.items()}
            return value
        return pick(cache)

    def decode_step(self, last_ids: torch.Tensor, cache: dict) -> torch.Tensor:
        """(batch, target_vocab) logits of the token after ``last_ids`` (batch,), the newest token of each prefix:
        ``decode``'s logits at the last position, computed from that one token and ``cache`` (updated in place)."""
        step = cache["step"]
        if step >= self.pe.shape[1]:
            raise ValueError(f"decoding past max_positions {self.pe.shape[1]}")
        x = self.drop_tgt(self.tgt_embed(last_ids[:, None]) * math.sqrt(self.d_model) + self.pe[:, step:step + 1])
        for layer, layer_cache in zip(self.decoder, cache["layers"], strict=True):
            mha = layer.self_mha
            k, v = mha.split_heads(mha.wk(x)), mha.split_heads(mha.wv(x))
            if layer_cache["self"] is not None:  # the earlier tokens: every one real, all in the past
                k, v = torch.cat([layer_cache["self"][0], k], 2), torch.cat([layer_cache["self"][1], v], 2)
            layer_cache["self"] = (k, v)
            x = layer.norms[0](x + layer.drops[0](_attend(mha, x, k, v)))
            x = layer.norms[1](x + layer.drops[1](_attend(layer.cross_mha, x, *layer_cache["memory"],
                                                            cache["source_mask"])))
            x = layer.norms[2](x + layer.drops[2](layer.ffn(x)))
        cache["step"] = step + 1
        return self.out(x[:, 0])

    @torch.no_grad()
    def greedy(self, source_ids: torch.Tensor, bos: int, eos: int, max_len: int) -> tuple[list[list[int]], list[float]]:
        """The most likely next token at every step until ``eos`` or ``max_len`` tokens; returns (tokens of each
        sentence without bos/eos, summed log-probability of each, eos included)."""
        cache = self.start_cache(*self.encode(source_ids))
        batch = source_ids.shape[0]
        last = torch.full((batch,), bos, dtype=torch.long, device=source_ids.device)
        tokens, scores, done = [[] for _ in range(batch)], [0.0] * batch, [False] * batch
        for _ in range(max_len):
            logp = torch.log_softmax(self.decode_step(last, cache).float(), -1)
            best, last = logp.max(-1)
            for i, (token, score) in enumerate(zip(last.tolist(), best.tolist(), strict=True)):
                if not done[i]:
                    scores[i] += score
                    done[i] = token == eos
                    if not done[i]:
                        tokens[i].append(token)
            if all(done):
                break
        return tokens, scores

    @torch.no_grad()
    def beam_search(self, source_ids: torch.Tensor, bos: int, eos: int, beam: int = 4, length_penalty: float = 0.6,
                    max_len: int = 100) -> tuple[list[list[int]], list[float]]:
        """Beam search: keep the ``beam`` best prefixes of each sentence; a prefix that ends with ``eos`` among the
        ``beam`` best candidates of a step is finished, and a sentence stops with ``beam`` finished hypotheses (or
        at ``max_len``, its live prefixes finishing there). Hypotheses are ranked by log-probability / lp, with
        GNMT's lp = ((5 + length) / 6) ^ length_penalty (0: raw log-probability). ``beam=1`` is ``greedy``.
        Returns (best tokens of each sentence without bos/eos, its score)."""
        batch, device = source_ids.shape[0], source_ids.device
        memory, source_mask = self.encode(source_ids)
        rows = torch.arange(batch, device=device).repeat_interleave(beam)  # row b * beam + k: sentence b, beam k
        cache = self.start_cache(memory[rows], source_mask[rows])
        last = torch.full((batch * beam,), bos, dtype=torch.long, device=device)
        prefixes = [[[] for _ in range(beam)] for _ in range(batch)]
        # only beam 0 is live at first: the others would repeat its candidates
        live = torch.full((batch, beam), float("-inf"), device=device)
        live[:, 0] = 0.0
        finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(batch)]

        def lp(length: int) -> float:
            return ((5 + length) / 6) ** length_penalty

        for step in range(max_len):
            logp = torch.log_softmax(self.decode_step(last, cache).float(), -1).view(batch, beam, -1)
            vocab = logp.shape[-1]
            top, index = (live[:, :, None] + logp).view(batch, -1).topk(min(2 * beam, beam * vocab), -1)
            origin, new_live, new_last, new_prefixes = [], [], [], []
            for b, (values, picks) in enumerate(zip(top.tolist(), index.tolist(), strict=True)):
                kept: list[tuple[float, int, int]] = []  # (score, origin beam, token)
                if len(finished[b]) < beam:  # a sentence already done keeps its rows busy but learns nothing
                    for rank, (value, pick) in enumerate(zip(values, picks, strict=True)):
                        k, token = divmod(pick, vocab)
                        if value == float("-inf"):
                            break
                        if token == eos:
                            if rank < beam:
                                finished[b].append((value / lp(step + 1), prefixes[b][k]))
                        elif len(kept) < beam:
                            kept.append((value, k, token))
                        if len(kept) == beam:
                            break
                kept += [(float("-inf"), 0, eos)] * (beam - len(kept))
                origin += [b * beam + k for _, k, _ in kept]
                new_live.append([value for value, _, _ in kept])
                new_last += [token for _, _, token in kept]
                new_prefixes.append([prefixes[b][k] + [token] for _, k, token in kept])
            if all(len(f) >= beam for f in finished):
                break
            prefixes, live = new_prefixes, torch.tensor(new_live, device=device)
            last = torch.tensor(new_last, dtype=torch.long, device=device)
            cache = self.reorder_cache(cache, torch.tensor(origin, device=device))
        else:  # max_len reached: the live prefixes end there
            for b in range(batch):
                for k in range(beam):
                    if len(finished[b]) < beam and live[b, k] > float("-inf"):
                        finished[b].append((float(live[b, k]) / lp(max_len), prefixes[b][k]))
        best = [max(f, key=lambda item: item[0]) if f else (float("-inf"), []) for f in finished]
        return [tokens for _, tokens in best], [score for score, _ in best]


def _attend(mha: MultiHeadAttention, x: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, mask=None):
    """``mha(x, memory, memory)`` given the keys and values of ``memory`` already projected and split into heads."""
    out, _ = scaled_dot_product_attention(mha.split_heads(mha.wq(x)), keys, values, mask)
    batch, _, seq, _ = out.shape
    return mha.wo(out.transpose(1, 2).reshape(batch, seq, -1))
