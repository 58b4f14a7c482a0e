"""Wake word (production detector, stage 1): the course's Conv1D + GRU head over Google's frozen speech embedding.

    dlzoo data trigger_word && dlzoo data trigger_word_embeddings
    dlzoo train wake_word && dlzoo evaluate wake_word
    dlzoo evaluate wake_word --data DIR      # any trigger-word folder (<split>.json + WAVs): embedded on the fly

The same clips, targets, threshold choice (best dev recall within ``decode.max_false_accepts_per_hour``) and
evaluation as the course's model (:class:`pipelines.tasks.trigger_word.TriggerWordTask`, whose hooks this
fills): only what the network reads differs. Instead of a spectrogram it reads one 96-d embedding per 80 ms
from openWakeWord's front end (:mod:`pipelines.features.speech_embedding`), which Google trained on real
speech; a network that only ever hears synthesizers then needs to learn far less about them.

The embeddings of the pipeline's own clips come from the ``data_trigger_word_embeddings`` stage (params
``embeddings``, checked against each split's sha256); any other folder is embedded here, on one core.
Augmentation acts on the embedding steps (masked runs of steps, input dropout in the model): the audio was
already augmented when the clips were made.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from pipelines.features import clip_embeddings
from pipelines.features.speech_embedding import CONTEXT, RATE, STEP, SpeechEmbedding
from pipelines.imports import ROOT
from pipelines.models.wake_word import WakeWordConfig, WakeWordNet
from pipelines.tasks.trigger_word import ClipSet, TriggerWordTask, clip_probs, read_split


class EmbeddingSet(ClipSet):
    """A split's clips as float16 embedding sequences ``(steps, 96)``, with their records and lengths; items
    are ClipSet's (inputs, activate end times, other words' end times)."""

    def __init__(self, records: list[dict], inputs: list[torch.Tensor], seconds: list[float]):
        self.records, self.inputs, self.seconds = records, inputs, seconds


def mask_steps(x: torch.Tensor, masks: int, max_steps: int) -> torch.Tensor:
    """``masks`` runs of up to ``max_steps`` embedding steps per clip set to 0 (SpecAugment's time masks)."""
    B, T, _ = x.shape
    out = x.clone()
    t = torch.arange(T)
    for _ in range(masks):
        width = torch.randint(0, max_steps + 1, (B,))
        start = (torch.rand(B) * (T - width).clamp(min=1)).long()
        out.masked_fill_(((t[None] >= start[:, None]) & (t[None] < (start + width)[:, None]))[:, :, None], 0.0)
    return out


class WakeWordTask(TriggerWordTask):
    name = "wake_word"

    def _cache(self) -> Path | None:
        path = self.params.get("embeddings")
        if not path:
            return None
        path = Path(path)
        return path if path.is_absolute() else ROOT / path  # Ray workers do not run in the project root

    def clip_set(self, data_dir: Path, split: str) -> EmbeddingSet:
        data_dir = Path(data_dir)
        records = read_split(data_dir, split)
        files = [r["file"] for r in records]
        cache = self._cache()
        cached = clip_embeddings.read_split(cache, split, data_dir) if cache else None
        if cached is not None and cached[0]["files"] == files:
            index, matrix = cached
            off = index["offsets"]
            inputs = [torch.from_numpy(np.array(matrix[off[i]:off[i + 1]])) for i in range(len(files))]
            samples = index["samples"]
        else:
            embedded = clip_embeddings.embed_files([data_dir / f for f in files], desc=f"embeddings {split}")
            inputs = [torch.from_numpy(e) for e, _ in embedded]
            samples = [n for _, n in embedded]
        return EmbeddingSet(records, inputs, [n / RATE for n in samples])

    def model_config(self) -> dict:
        return WakeWordConfig(**self.params["model"]).to_dict()

    @classmethod
    def build_model(cls, config: dict) -> nn.Module:
        return WakeWordNet(WakeWordConfig(**config))

    def forward(self, model, inputs: list, augment: bool) -> tuple[torch.Tensor, list[int]]:
        x = nn.utils.rnn.pad_sequence([i.float() for i in inputs], batch_first=True)
        if augment:
            a = self.params.get("augment", {})
            x = mask_steps(x, int(a.get("step_masks", 0)), int(a.get("step_mask_steps", 0)))
        return model(x.to(next(self.unwrap(model).parameters()).device)), [len(i) for i in inputs]

    @torch.no_grad()
    def _probs(self, model, dataset: EmbeddingSet) -> list[tuple[np.ndarray, np.ndarray]]:
        net = self.unwrap(model)
        net.eval()
        size = int(self.params["train"].get("eval_batch_size", 128))
        out = []
        for i in range(0, len(dataset.inputs), size):
            logits, lengths = self.forward(net, dataset.inputs[i:i + size], augment=False)
            out += clip_probs(net, logits, lengths)
        return out

    def min_samples(self, model) -> int:
        """The fewest samples giving one output step: ``kernel`` embedding steps, the first reading 0.782 s."""
        return CONTEXT + (self.unwrap(model).cfg.kernel - 1) * STEP

    def audio_probs(self, model, audio: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Clips (float samples at 16 kHz) -> embeddings (one onnxruntime thread) -> step probabilities and times."""
        if getattr(self, "_embed", None) is None:
            self._embed = SpeechEmbedding(threads=1)
        embedded = self._embed.embed_many([np.asarray(a, np.float32) for a in audio])
        return self._probs(model, EmbeddingSet([{}] * len(audio), [torch.from_numpy(e) for e in embedded],
                                               [len(a) / RATE for a in audio]))
