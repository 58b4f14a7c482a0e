"""Course 5 week 1's character-level language model ("Dinosaur Island"): one-hot characters into a recurrent
cell, a softmax over the next character.

The alphabet is the course's: ``\\n`` (the end of a name, index 0) and a-z (1-26). The first input is the zero
vector, as the notebook's ``x<1> = 0``: index 27 (``START``) is one-hot encoded into nothing. ``cell`` is
``rnn`` (the notebook's tanh RNN, ``n_a`` = 50 there) or ``lstm`` (the row beside it).

The same network reads any vocabulary of ``vocab`` tokens whose index 0 ends a sequence: the music model
(``pipelines/tasks/music.py``) reads note tokens with it, as the course's jazz model is this LSTM over notes.
"""

from __future__ import annotations

import torch
from torch import nn

ALPHABET = "\n" + "abcdefghijklmnopqrstuvwxyz"
END, START = 0, len(ALPHABET)  # START's one-hot is the zero vector


def encode(name: str) -> list[int]:
    return [ALPHABET.index(ch) for ch in name]


def decode(ids) -> str:
    return "".join(ALPHABET[i] for i in ids if i != END)


class CharLM(nn.Module):
    def __init__(self, cell: str = "rnn", hidden: int = 50, vocab: int = len(ALPHABET)):
        super().__init__()
        cells = {"rnn": nn.RNN, "lstm": nn.LSTM}
        if cell not in cells:
            raise ValueError(f"model.cell must be one of {sorted(cells)}, got {cell!r}")
        self.vocab = vocab  # index ``vocab`` is the start: its one-hot is the zero vector
        self.rnn = cells[cell](vocab, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, ids: torch.Tensor, state=None):
        """(logits over the next token, (batch, steps, vocab); the recurrent state) of input ids (batch, steps)."""
        x = nn.functional.one_hot(ids, self.vocab + 1)[..., :self.vocab].float()
        h, state = self.rnn(x, state)
        return self.out(h), state

    @torch.no_grad()
    def sample(self, n: int, temperature: float = 1.0, max_length: int = 50,
               generator: torch.Generator | None = None) -> list[str]:
        """``n`` names drawn character by character from softmax(logits / temperature), each ending at ``\\n`` or
        after ``max_length`` characters (the notebook's 50)."""
        return [decode(ids) for ids in self.sample_ids(n, temperature, max_length, generator)]

    @torch.no_grad()
    def sample_ids(self, n: int, temperature: float = 1.0, max_length: int = 50,
                   generator: torch.Generator | None = None) -> list[list[int]]:
        """``n`` sequences of token ids drawn from softmax(logits / temperature), each up to (not including) its
        end (index 0) or ``max_length`` tokens long."""
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        device = self.out.weight.device
        ids = torch.full((n, 1), self.vocab, dtype=torch.long, device=device)
        state, out, done = None, [], torch.zeros(n, dtype=torch.bool, device=device)
        for _ in range(max_length):
            logits, state = self(ids, state)
            probs = torch.softmax(logits[:, -1] / temperature, dim=-1)
            ids = torch.multinomial(probs.cpu(), 1, generator=generator).to(device)
            ids[done] = END
            out.append(ids[:, 0])
            done |= ids[:, 0] == END
            if bool(done.all()):
                break
        rows = torch.stack(out, 1).tolist()
        return [row[:row.index(END)] if END in row else row for row in rows]
