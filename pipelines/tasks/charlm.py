"""Course 5 week 1's character-level language model on people's names (``dlzoo data names``), trained by the
one Ray driver: the notebook's RNN (``c5w1_charlm_rnn``) and an LSTM beside it (``c5w1_charlm_lstm``).

    dlzoo train c5w1_charlm_rnn && dlzoo evaluate c5w1_charlm_rnn
    dlzoo generate charlm --n 20 --temperature 0.8

The loss is the notebook's: the cross-entropy of every next character, the end of the name included, with
gradient clipping (``train.clip_grad``; the notebook clips each gradient to [-5, 5], here the norm) and
mini-batches of names instead of one name per step. Evaluation on each held-out split (names never trained on):

* ``loss_per_char`` (nats) and ``perplexity``, and ``loss_per_name``: the sum over a name's characters, the
  quantity the notebook prints (22.7 after 22,000 dinosaur names; dinosaur names are longer than people's);
* ``samples``: ``evaluate.samples`` names drawn at ``evaluate.temperature`` (seeded): ``new``, the share not among
  the training names; ``distinct``; ``plausible``, the share whose every letter trigram (with the start and end
  of the name as marks) occurs in some training name, beside ``plausible_reference``, the same share of the
  held-out real names, so a reader sees what a real unseen name scores.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset

from pipelines.data import names as names_data
from pipelines.models.charlm import ALPHABET, END, START, CharLM, encode
from pipelines.tasks.base import Task, held_out_splits

IGNORE = -100


class NameSet(Dataset):
    def __init__(self, names: list[str]):
        self.items = [encode(name) for name in names]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def collate_names(batch: list[list[int]], start: int = START) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs: ``start`` then the name, padded with END; targets: the name then END, padded with IGNORE)."""
    steps = max(len(ids) for ids in batch) + 1
    x = torch.full((len(batch), steps), END, dtype=torch.long)
    y = torch.full((len(batch), steps), IGNORE, dtype=torch.long)
    for i, ids in enumerate(batch):
        x[i, :len(ids) + 1] = torch.tensor([start, *ids])
        y[i, :len(ids) + 1] = torch.tensor([*ids, END])
    return x, y


def trigrams(name: str) -> set[str]:
    padded = f"^^{name}$"
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


class CharLMTask(Task):
    name = "c5w1_charlm"

    def load(self, data_dir: Path) -> None:
        self.train_set = NameSet(names_data.read_split(data_dir, "train"))
        self.dev_set = NameSet(names_data.read_split(data_dir, "dev"))

    def datasets(self):
        return self.train_set, self.dev_set

    def collate(self, batch):
        return collate_names(batch)

    def model_config(self) -> dict:
        return dict(self.params["model"])

    @classmethod
    def build_model(cls, config: dict) -> nn.Module:
        return CharLM(config.get("cell", "rnn"), int(config.get("hidden", 50)), int(config.get("vocab", len(ALPHABET))))

    def loss(self, model, batch):
        x, y = batch
        logits, _ = model(x)
        return nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=IGNORE)

    @torch.no_grad()
    def score(self, model, loader, device) -> dict[str, float]:
        """Summed cross-entropy over every predicted character, per character and per name."""
        net = self.unwrap(model)
        was_training = net.training
        net.eval()
        total, chars, names = 0.0, 0, 0
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            logits, _ = net(x)
            total += float(nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=IGNORE,
                                                       reduction="sum"))
            chars += int((y != IGNORE).sum())
            names += len(x)
        net.train(was_training)
        per_char = total / max(chars, 1)
        return {"loss_per_char": per_char, "loss_per_name": total / max(names, 1), "perplexity": math.exp(per_char)}

    def validate(self, model, loader, device):
        return {f"dev_{k}": v for k, v in self.score(model, loader, device).items() if k != "perplexity"}

    def sample(self, model, n: int, temperature: float, seed: int) -> list[str]:
        generator = torch.Generator().manual_seed(int(seed))
        return self.unwrap(model).sample(n, temperature, generator=generator)

    def evaluate(self, model, data_dir: Path):
        data_dir = Path(data_dir)
        found = [p.stem for p in data_dir.glob("*.txt")]
        splits = held_out_splits(found, names_data.SPLITS)
        if not splits:
            raise FileNotFoundError(f"{self.name}: no held-out names (test.txt) in {data_dir}")
        device = next(self.unwrap(model).parameters()).device
        metrics, details = {}, {}
        held_out = []
        for split in splits:
            split_names = names_data.read_split(data_dir, split)
            held_out += split_names
            loader = torch.utils.data.DataLoader(NameSet(split_names), batch_size=256, collate_fn=collate_names)
            metrics[split] = {"n": len(split_names), **self.score(model, loader, device)}
        train = names_data.read_split(data_dir, "train")
        known = set().union(*(trigrams(name) for name in train))
        cfg = self.params["evaluate"]
        drawn = self.sample(model, int(cfg["samples"]), float(cfg["temperature"]), int(cfg["seed"]))
        seen = set(train)

        def plausible(names: list[str]) -> float:
            return sum(bool(name) and trigrams(name) <= known for name in names) / max(len(names), 1)

        metrics["samples"] = {
            "n": len(drawn), "temperature": float(cfg["temperature"]),
            "new": sum(name not in seen for name in drawn) / max(len(drawn), 1),
            "distinct": len(set(drawn)) / max(len(drawn), 1),
            "plausible": plausible(drawn),
            "plausible_reference": plausible(held_out),
            "mean_length": sum(map(len, drawn)) / max(len(drawn), 1),
        }
        details["samples"] = drawn
        return metrics, details
