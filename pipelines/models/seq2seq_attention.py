"""Character-level attention seq2seq of Course 5 Week 3 ("Neural machine translation with attention").

The course's network, in PyTorch: a bidirectional LSTM encoder gives a<t'> for every input character;
at each output step the one-step attention repeats s<t-1>, concatenates it with every a<t'>, runs a
small dense net (tanh, then a ReLU energy) and a softmax over Tx; the context feeds the post-attention
LSTM, whose state gives a softmax over output characters.

One addition, kept switchable (``feed_previous``): the post-attention LSTM also sees the previous
output character, which turns decoding into a real search (greedy or beam, with length
normalisation). With ``feed_previous: false`` it is exactly the course's model.

Both decoders take an optional transition mask ``allowed[t, prev, next]`` (bool, (L, V, V), L at least
the steps decoded): at output step ``t`` after token ``prev`` only the tokens ``next`` it allows are
considered. Scores stay the model's own log-probabilities (the mask removes options, it does not
renormalise).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

PAD, UNK = 0, 1  # source specials
TGT_PAD, BOS, EOS = 0, 1, 2  # target specials


@dataclass
class Seq2SeqConfig:
    src_vocab: int
    tgt_vocab: int
    tx: int = 48  # longest input kept (characters)
    ty: int = 11  # longest output, EOS included
    emb: int = 32
    n_a: int = 64  # encoder LSTM units per direction
    n_s: int = 128  # post-attention LSTM units
    attn_hidden: int = 10
    feed_previous: bool = True
    dropout: float = 0.0
    bos: int = BOS  # the target's start and end marks (a subword vocabulary numbers its specials its own way)
    eos: int = EOS

    def to_dict(self) -> dict:
        return asdict(self)


class OneStepAttention(nn.Module):
    """alphas = softmax_t'(relu(w . tanh(W [s<t-1>; a<t'>]))); context = sum_t' alphas a<t'>."""

    def __init__(self, n_a2: int, n_s: int, hidden: int):
        super().__init__()
        # Dense([s; a]) == W_s s + W_a a: the a-part is computed once per sequence, not per step.
        self.w_a = nn.Linear(n_a2, hidden)
        self.w_s = nn.Linear(n_s, hidden, bias=False)
        self.energy = nn.Linear(hidden, 1)

    def project(self, a: torch.Tensor) -> torch.Tensor:
        return self.w_a(a)

    def forward(self, s_prev, a, a_proj, mask):
        e = torch.relu(self.energy(torch.tanh(a_proj + self.w_s(s_prev).unsqueeze(1)))).squeeze(-1)
        alphas = torch.softmax(e.masked_fill(~mask, float("-inf")), dim=-1)
        return torch.bmm(alphas.unsqueeze(1), a).squeeze(1), alphas


class Seq2SeqAttention(nn.Module):
    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        self.cfg = cfg
        self.src_emb = nn.Embedding(cfg.src_vocab, cfg.emb, padding_idx=PAD)
        self.encoder = nn.LSTM(cfg.emb, cfg.n_a, batch_first=True, bidirectional=True)
        self.attention = OneStepAttention(2 * cfg.n_a, cfg.n_s, cfg.attn_hidden)
        dec_in = 2 * cfg.n_a + (cfg.emb if cfg.feed_previous else 0)
        self.tgt_emb = nn.Embedding(cfg.tgt_vocab, cfg.emb, padding_idx=TGT_PAD) if cfg.feed_previous else None
        self.decoder = nn.LSTMCell(dec_in, cfg.n_s)
        self.dropout = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(cfg.n_s, cfg.tgt_vocab)

    def encode(self, src: torch.Tensor):
        """src (B, T) -> a (B, T, 2 n_a), its attention projection and the padding mask."""
        mask = src != PAD
        lengths = mask.sum(1).clamp(min=1).cpu()
        packed = pack_padded_sequence(self.src_emb(src), lengths, batch_first=True, enforce_sorted=False)
        a, _ = self.encoder(packed)
        a, _ = pad_packed_sequence(a, batch_first=True, total_length=src.size(1))
        return a, self.attention.project(a), mask

    def advance(self, prev_tok, state, a, a_proj, mask):
        """One post-attention LSTM step: returns the new (h, c) and the attention weights."""
        h, c = state
        context, alphas = self.attention(h, a, a_proj, mask)
        x = torch.cat([context, self.tgt_emb(prev_tok)], dim=-1) if self.tgt_emb is not None else context
        return self.decoder(x, (h, c)), alphas

    def step(self, prev_tok, state, a, a_proj, mask):
        """One decoder step: returns logits (B, V), the new (h, c) and the attention weights."""
        state, alphas = self.advance(prev_tok, state, a, a_proj, mask)
        return self.out(self.dropout(state[0])), state, alphas

    def init_state(self, batch: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.zeros(batch, self.cfg.n_s, device=device)
        return z, z.clone()

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits (B, Ty, V); ``tgt_in`` is the target shifted right behind BOS."""
        a, a_proj, mask = self.encode(src)
        state = self.init_state(src.size(0), src.device)
        hidden = []
        for t in range(tgt_in.size(1)):
            state, _ = self.advance(tgt_in[:, t], state, a, a_proj, mask)
            hidden.append(state[0])
        # the output layer once over all steps: one large product instead of Ty small ones
        return self.out(self.dropout(torch.stack(hidden, dim=1)))

    @staticmethod
    def _restrict(logp: torch.Tensor, allowed: torch.Tensor | None, t: int, prev: torch.Tensor) -> torch.Tensor:
        """``logp`` (N, V) with the tokens ``allowed[t, prev]`` forbids at -inf."""
        if allowed is None:
            return logp
        return logp.masked_fill(~allowed[t][prev], float("-inf"))

    @torch.no_grad()
    def greedy(self, src: torch.Tensor, max_len: int | None = None, allowed: torch.Tensor | None = None):
        """Greedy decoding -> (tokens (B, L), summed log-prob (B,), lengths incl. EOS (B,))."""
        a, a_proj, mask = self.encode(src)
        B = src.size(0)
        state = self.init_state(B, src.device)
        prev = torch.full((B,), self.cfg.bos, dtype=torch.long, device=src.device)
        done = torch.zeros(B, dtype=torch.bool, device=src.device)
        score = torch.zeros(B, device=src.device)
        lengths = torch.zeros(B, dtype=torch.long, device=src.device)
        tokens = []
        for t in range(max_len or self.cfg.ty):
            logits, state, _ = self.step(prev, state, a, a_proj, mask)
            logp, tok = self._restrict(torch.log_softmax(logits, -1), allowed, t, prev).max(-1)
            tok = tok.masked_fill(done, TGT_PAD)
            score += logp.masked_fill(done, 0.0)
            lengths += (~done).long()
            done |= tok == self.cfg.eos
            tokens.append(tok)
            prev = tok
            if bool(done.all()):
                break
        return torch.stack(tokens, 1), score, lengths

    @torch.no_grad()
    def beam_search(self, src: torch.Tensor, beam_size: int = 3, length_norm: float = 0.7,
                    max_len: int | None = None, allowed: torch.Tensor | None = None):
        """Batched beam search.

        Hypotheses are ranked by log P(y) / len(y) ** length_norm (the course's normalisation; 0
        disables it). Returns (tokens (B, L), that normalised score (B,), lengths incl. EOS (B,)).
        """
        k, max_len = beam_size, max_len or self.cfg.ty
        B, dev = src.size(0), src.device
        a, a_proj, mask = self.encode(src)
        a, a_proj, mask = (t.repeat_interleave(k, 0) for t in (a, a_proj, mask))
        state = self.init_state(B * k, dev)
        prev = torch.full((B * k,), self.cfg.bos, dtype=torch.long, device=dev)
        scores = torch.zeros(B, k, device=dev)
        scores[:, 1:] = float("-inf")  # all beams start identical: keep only the first alive
        finished = torch.zeros(B, k, dtype=torch.bool, device=dev)
        lengths = torch.zeros(B, k, dtype=torch.long, device=dev)
        seqs = torch.zeros(B, k, 0, dtype=torch.long, device=dev)
        for t in range(max_len):
            logits, state, _ = self.step(prev, state, a, a_proj, mask)
            logp = self._restrict(torch.log_softmax(logits, -1), allowed, t, prev).view(B, k, -1)
            V = logp.size(-1)
            # A finished beam may only emit PAD, at no cost.
            pad_only = torch.full_like(logp[0, 0], float("-inf"))
            pad_only[TGT_PAD] = 0.0
            logp = torch.where(finished.unsqueeze(-1), pad_only, logp)
            top, idx = (scores.unsqueeze(-1) + logp).view(B, -1).topk(k, dim=-1)
            beam, tok = idx // V, idx % V
            flat = (torch.arange(B, device=dev).unsqueeze(1) * k + beam).view(-1)
            state = (state[0][flat], state[1][flat])
            seqs = torch.cat([seqs.gather(1, beam.unsqueeze(-1).expand_as(seqs)), tok.unsqueeze(-1)], -1)
            was_finished = finished.gather(1, beam)
            lengths = lengths.gather(1, beam) + (~was_finished).long()
            finished = was_finished | (tok == self.cfg.eos)
            scores, prev = top, tok.view(-1)
            if bool(finished.all()):
                break
        norm = scores / lengths.clamp(min=1).float().pow(length_norm)
        best = norm.argmax(-1)
        pick = best.view(B, 1, 1).expand(B, 1, seqs.size(-1))
        return (seqs.gather(1, pick).squeeze(1), norm.gather(1, best.unsqueeze(1)).squeeze(1),
                lengths.gather(1, best.unsqueeze(1)).squeeze(1))
