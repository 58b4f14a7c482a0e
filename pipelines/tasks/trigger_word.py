"""Trigger word (C5W3): clips + "activate" end times -> spectrograms, the course's GRU network, event metrics.

    dlzoo data trigger_word && dlzoo train trigger_word && dlzoo evaluate trigger_word
    dlzoo evaluate trigger_word --data DIR      # any <split>.json + WAV folder in the same layout

Clips are decoded once (float16 in memory); every batch becomes spectrograms with
``pipelines.data.audio.spectrogram`` (the service's very function) and, in training, SpecAugment
time and frequency masks after a random vocal-tract-length warp of the frequency axis. Targets are the
course's (:func:`frame_labels`): 1 on the output steps in the ``label_window_s`` after each "activate" ends;
they live here, not with the data generator, so that changing them retrains without regenerating the clips.
Every epoch the dev clips choose the detection threshold (the best recall within
``decode.max_false_accepts_per_hour``), and it travels in the model's meta to evaluation and the service.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset
from tqdm import tqdm

from pipelines.data.audio import SPECTROGRAM_DEFAULTS, load_audio, n_bins, spectrogram
from pipelines.data.trigger_word.splits import SPLITS
from pipelines.data.trigger_word.voices import voice_of
from pipelines.evaluation import trigger_word as tw_metrics
from pipelines.models.trigger_word import TriggerWordConfig, TriggerWordNet, detect_events
from pipelines.tasks.base import Task, held_out_splits

# Thresholds of the operating curve in details.json (beside the dev threshold): what another budget would cost
CURVE_THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998)


def feature_params(params: dict) -> dict:
    return {**SPECTROGRAM_DEFAULTS, **params.get("features", {})}


def read_split(data_dir: Path, split: str) -> list[dict]:
    path = Path(data_dir) / f"{split}.json"
    if not path.is_file():
        raise FileNotFoundError(f"trigger_word: {path} does not exist (run `dlzoo data trigger_word`)")
    try:
        records = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON: {err}") from None
    for r in records:
        if not isinstance(r, dict) or "file" not in r or "activate_ends_s" not in r:
            raise ValueError(f"{path}: every record needs 'file' and 'activate_ends_s'")
    return records


def frame_labels(activate_ends_s: list[float], count: int, frame_period_s: float, window_s: float) -> np.ndarray:
    """The course's targets at any frame rate: 1 for frames at times ``t = i * frame_period_s`` with
    ``end < t <= end + window_s`` for some "activate" end, 0 elsewhere."""
    t = np.arange(count) * frame_period_s
    y = np.zeros(count, dtype=np.float32)
    for end in activate_ends_s:
        y[(t > end) & (t <= end + window_s)] = 1.0
    return y


class ClipSet(Dataset):
    """``(samples float16 (n,), activate end times, other words' end times)`` per clip of a split.

    ``inputs`` holds what the network reads per clip (here the samples, also as ``audio``) and ``seconds``
    each clip's length; a task with another front end builds its own set with the same three attributes."""

    def __init__(self, data_dir: Path, records: list[dict], rate: int):
        self.records = records
        self.audio = [torch.from_numpy(load_audio((Path(data_dir) / r["file"]).read_bytes(), rate)).half()
                      for r in tqdm(records, desc="clips", unit="clip", mininterval=5)]
        self.inputs = self.audio
        self.seconds = [len(a) / rate for a in self.audio]

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int):
        r = self.records[i]
        return self.inputs[i], r["activate_ends_s"], [float(w["end_s"]) for w in r.get("negatives", [])]


def spec_augment(spec: torch.Tensor, cfg: dict) -> torch.Tensor:
    """SpecAugment: ``time_masks`` masks of up to ``time_mask_frames`` frames and ``freq_masks`` of up to
    ``freq_mask_bins`` bins per clip, set to 0 (the normalised mean)."""
    B, T, Fq = spec.shape
    out = spec.clone()
    for _ in range(cfg["time_masks"]):
        width = torch.randint(0, cfg["time_mask_frames"] + 1, (B,))
        start = (torch.rand(B) * (T - width).clamp(min=1)).long()
        t = torch.arange(T)
        out.masked_fill_(((t[None] >= start[:, None]) & (t[None] < (start + width)[:, None]))[:, :, None], 0.0)
    for _ in range(cfg["freq_masks"]):
        width = torch.randint(0, cfg["freq_mask_bins"] + 1, (B,))
        start = (torch.rand(B) * (Fq - width).clamp(min=1)).long()
        f = torch.arange(Fq)
        out.masked_fill_(((f[None] >= start[:, None]) & (f[None] < (start + width)[:, None]))[:, None, :], 0.0)
    return out


def vtlp(spec: torch.Tensor, max_warp: float, boundary: float = 0.8) -> torch.Tensor:
    """Vocal-tract-length perturbation (Jaitly & Hinton 2013) of spectrograms ``(B, T, F)``: each clip's
    frequency axis is stretched by its own factor ``a`` in ``1 +- max_warp``, so formants move as between a
    longer and a shorter vocal tract (pitch and timing stay). Bins up to ``boundary`` of the band map
    ``f -> f / a``; above, a second linear piece ends at the top bin, so the band keeps its width.
    """
    B, T, Fq = spec.shape
    if max_warp <= 0 or Fq < 2:
        return spec
    a = 1 + (torch.rand(B, 1) * 2 - 1) * max_warp
    k = torch.arange(Fq, dtype=torch.float32)[None]
    cut, top = boundary * (Fq - 1), float(Fq - 1)
    src = torch.where(k <= cut, k / a, cut / a + (k - cut) * (top - cut / a) / (top - cut)).clamp(0, top)
    lo = src.floor().long().clamp(max=Fq - 2)
    frac = (src - lo).to(spec.device, spec.dtype)[:, None, :]
    lo = lo.to(spec.device)[:, None, :].expand(B, T, Fq)
    return torch.gather(spec, 2, lo) * (1 - frac) + torch.gather(spec, 2, lo + 1) * frac


def features(audio: list[torch.Tensor] | torch.Tensor, feat: dict) -> tuple[torch.Tensor, list[int]]:
    """Clips (any lengths) -> padded spectrograms ``(B, T, F)`` and each clip's own frame count.

    Each clip is normalised on its own before padding, so a batch never changes a clip's features.
    """
    specs = [spectrogram(a.float(), feat) for a in audio]
    lengths = [s.shape[0] for s in specs]
    return nn.utils.rnn.pad_sequence(specs, batch_first=True), lengths


@torch.no_grad()
def predict_probs(model: TriggerWordNet, audio: list[torch.Tensor], feat: dict, batch_size: int = 32
                  ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Clips -> per clip (step probabilities, step centre times in s)."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for i in range(0, len(audio), batch_size):
        spec, lengths = features(audio[i:i + batch_size], feat)
        out += clip_probs(model, model(spec.to(device)), lengths)
    return out


def clip_probs(model: TriggerWordNet, logits: torch.Tensor, lengths: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Padded logits ``(B, steps)`` -> per clip (its own steps' probabilities, their centre times in s)."""
    probs = torch.sigmoid(logits).cpu().numpy()
    steps = [model.n_steps(n) for n in lengths]
    return [(row[:k], model.step_times(k)) for row, k in zip(probs, steps, strict=True)]


class TriggerWordTask(Task):
    name = "trigger_word"

    def clip_set(self, data_dir: Path, split: str) -> ClipSet:
        """One split's clips as the network reads them (a subclass with another front end overrides this,
        :meth:`forward` and :meth:`_probs`)."""
        return ClipSet(data_dir, read_split(data_dir, split), feature_params(self.params)["sample_rate"])

    def load(self, data_dir: Path) -> None:
        self.train_set = self.clip_set(data_dir, "train")
        self.dev_set = self.clip_set(data_dir, "dev")
        self.meta.setdefault("threshold", 0.5)
        self.meta["label_window_s"] = float(self.train_set.records[0].get("label_window_s", 0.364)) \
            if self.train_set.records else 0.364

    def datasets(self):
        return self.train_set, self.dev_set

    def collate(self, batch):
        inputs, ends, negative_ends = zip(*batch, strict=True)
        return {"inputs": list(inputs), "ends": list(ends), "negative_ends": list(negative_ends)}

    def model_config(self) -> dict:
        feat = feature_params(self.params)
        return TriggerWordConfig(n_freq=n_bins(feat), frame_period_s=feat["hop"] / feat["sample_rate"],
                                 **self.params["model"]).to_dict()

    @classmethod
    def build_model(cls, config: dict) -> nn.Module:
        return TriggerWordNet(TriggerWordConfig(**config))

    def targets(self, net: TriggerWordNet, ends: list[list[float]], lengths: list[int], steps: int):
        """The course's labels on the output steps, and a mask of each clip's real (unpadded) steps."""
        times = net.step_times(steps)
        period, offset = (times[1] - times[0]) if steps > 1 else 1.0, times[0] if steps else 0.0
        # frame_labels puts step k at k * period: shifting the ends by -offset lines them up with the centres
        y = np.stack([frame_labels([e - offset for e in clip], steps, period, self.meta["label_window_s"])
                      for clip in ends])
        mask = np.stack([np.arange(steps) < net.n_steps(n) for n in lengths])
        return torch.from_numpy(y), torch.from_numpy(mask)

    def negative_word_weights(self, net: TriggerWordNet, negative_ends: list[list[float]], steps: int,
                              weight: float) -> torch.Tensor:
        """Per-step loss weights: ``weight`` on the steps where a false accept would sit, from each negative
        word's end to two label windows after it, and 1 elsewhere.

        The false accepts of a trained model are confusables ("captivate", "activist") firing right after they
        end; these few steps are otherwise a sliver of the thousands of easy background steps in a clip.
        """
        times = net.step_times(steps)
        w = np.ones((len(negative_ends), steps), dtype=np.float32)
        span = 2 * self.meta["label_window_s"]
        for row, clip in zip(w, negative_ends, strict=True):
            for end in clip:
                row[(times > end - 0.1) & (times <= end + span)] = weight
        return torch.from_numpy(w)

    def forward(self, model, inputs: list, augment: bool) -> tuple[torch.Tensor, list[int]]:
        """A batch of clips -> padded logits ``(B, steps)`` and each clip's own input length (what
        ``n_steps`` reads); ``augment`` adds training's augmentation."""
        spec, lengths = features(inputs, feature_params(self.params))
        if augment:
            spec = spec_augment(vtlp(spec, float(self.params["augment"].get("vtlp_warp", 0.0))),
                                self.params["augment"])
        return model(spec.to(next(self.unwrap(model).parameters()).device)), lengths

    def loss(self, model, batch):
        logits, lengths = self.forward(model, batch["inputs"], augment=model.training)
        return self._batch_loss(self.unwrap(model), batch, logits, lengths)

    def _batch_loss(self, net: TriggerWordNet, batch: dict, logits: torch.Tensor, lengths: list[int]) -> torch.Tensor:
        """Masked, weighted BCE of ``logits`` (B, steps) against the batch's labels."""
        device = logits.device
        y, mask = self.targets(net, batch["ends"], lengths, logits.shape[1])
        y, mask = y.to(device), mask.to(device)
        pos_weight = torch.tensor(float(self.params["train"].get("pos_weight", 1.0)), device=device)
        loss = F.binary_cross_entropy_with_logits(logits, y, pos_weight=pos_weight, reduction="none")
        negative_weight = float(self.params["train"].get("negative_word_weight", 1.0))
        if negative_weight != 1.0:
            loss = loss * self.negative_word_weights(net, batch["negative_ends"], logits.shape[1],
                                                     negative_weight).to(device)
        return (loss * mask).sum() / mask.sum().clamp(min=1)

    def min_samples(self, model) -> int:
        """The fewest samples (at the model's rate) that give the network one output step: ``n_frames(n) =
        1 + n // hop`` spectrogram frames must reach the smallest frame count ``n_steps`` accepts."""
        frames = next(n for n in range(1, 100_000) if model.n_steps(n) > 0)
        return (frames - 1) * feature_params(self.params)["hop"]

    def audio_probs(self, model, audio: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Clips (float samples at the model's rate) -> per clip (step probabilities, step times in s)."""
        return predict_probs(model, [torch.from_numpy(np.asarray(a, np.float32)) for a in audio],
                             feature_params(self.params))

    def detect(self, model, audio: list[np.ndarray]) -> list[list[dict]]:
        """Clips -> per clip ``[{"time_s", "confidence"}]`` at the threshold chosen on dev: the service's answer."""
        results = []
        for probs, times in self.audio_probs(model, audio):
            t, c = detect_events(probs, times, float(self.meta["threshold"]), float(self.params["decode"]["min_gap_s"]))
            results.append([{"time_s": round(float(a), 3), "confidence": round(float(b), 4)}
                            for a, b in zip(t, c, strict=True)])
        return results

    def _probs(self, model, dataset: ClipSet):
        return predict_probs(model, list(dataset.inputs), feature_params(self.params),
                             self.params["train"].get("eval_batch_size", 32))

    @torch.no_grad()
    def validate(self, model, loader, device):
        """Dev loss, and event metrics at the threshold chosen on dev (stored in meta): the best recall
        within ``decode.max_false_accepts_per_hour`` (the best F1 when that is null)."""
        net = self.unwrap(model)
        net.eval()
        total, n, out = 0.0, 0, []
        for batch in loader:  # one forward pass per batch for both the loss and the probabilities
            logits, lengths = self.forward(net, batch["inputs"], augment=False)
            total += float(self._batch_loss(net, batch, logits, lengths)) * len(batch["inputs"])
            n += len(batch["inputs"])
            out += clip_probs(net, logits, lengths)
        d = self.params["decode"]
        threshold, m = tw_metrics.choose_threshold(
            [p for p, _ in out], [t for _, t in out], [r["activate_ends_s"] for r in self.dev_set.records],
            [r.get("duration_s", s) for r, s in zip(self.dev_set.records, self.dev_set.seconds, strict=True)],
            d["tolerance_s"], d["min_gap_s"], max_false_accepts_per_hour=d.get("max_false_accepts_per_hour"))
        self.meta["threshold"] = threshold
        net.train()
        return {"dev_loss": total / max(n, 1), "dev_f1": m["f1"], "dev_recall": m["recall"],
                "dev_precision": m["precision"], "dev_false_accepts_per_hour": m["false_accepts_per_hour"],
                "dev_threshold": threshold}

    def evaluate(self, model, data_dir: Path):
        """Event precision/recall/F1 on test (held-out voices), false accepts per hour on negatives_only
        (also reported as ``test.false_accepts_per_hour``) and, when the data has it, on real_negatives
        (held-out real people talking: ``real_negatives.false_accepts_per_hour``), frame accuracy, recall per
        voice, and in the details the operating curve: test recall and false accepts per hour at other
        thresholds (``real_false_accepts_per_hour`` too with real_negatives)."""
        data_dir = Path(data_dir)
        splits = held_out_splits((p.stem for p in data_dir.glob("*.json")), SPLITS)
        if not splits:
            raise FileNotFoundError(f"trigger_word evaluate: no <split>.json in {data_dir}")
        d, threshold = self.params["decode"], float(self.meta["threshold"])
        metrics: dict = {"threshold": threshold}
        details: dict = {}
        scored: dict = {}
        for split in splits:
            dataset = self.clip_set(data_dir, split)
            records = dataset.records
            out = self._probs(model, dataset)
            probs, times = [p for p, _ in out], [t for _, t in out]
            ends = [r["activate_ends_s"] for r in records]
            durations = list(dataset.seconds)
            scored[split] = (probs, times, ends, durations)
            m = tw_metrics.event_metrics(probs, times, ends, durations, threshold, d["tolerance_s"], d["min_gap_s"])
            hits = total = 0
            by_voice: dict[str, list[int]] = {}
            for p, t, r in zip(probs, times, records, strict=True):
                y = frame_labels([e - t[0] for e in r["activate_ends_s"]], len(p), t[1] - t[0],
                                 self.meta["label_window_s"]) if len(p) > 1 else np.zeros(len(p))
                hits += int(((p >= threshold) == (y > 0.5)).sum())
                total += len(p)
                det, _ = detect_events(p, t, threshold, d["min_gap_s"])
                found, _ = tw_metrics.match_events(det, np.asarray(r["activate_ends_s"]), d["tolerance_s"])
                for ok, event in zip(found, sorted(r.get("activates", []), key=lambda e: e["end_s"]), strict=False):
                    voice = voice_of(event["voice"]) if "voice" in event else "?"  # accent/engine, not variant
                    by_voice.setdefault(voice, [0, 0])[0] += int(ok)
                    by_voice[voice][1] += 1
            if not m["activates"]:  # negatives_only, real_negatives: precision and recall mean nothing there
                m = {k: v for k, v in m.items() if k not in ("precision", "recall", "f1")}
            m["frame_accuracy"] = hits / max(total, 1)
            m["hours"] = sum(durations) / 3600
            metrics[split] = m
            details[split] = {"recall_by_voice": {v: {"recall": a / b, "activates": b}
                                                  for v, (a, b) in sorted(by_voice.items())}}
        if "test" in metrics and "negatives_only" in metrics:
            metrics["test"]["false_accepts_per_hour_in_test_clips"] = metrics["test"]["false_accepts_per_hour"]
            metrics["test"]["false_accepts_per_hour"] = metrics["negatives_only"]["false_accepts_per_hour"]
            details["operating_curve"] = self.operating_curve(scored["test"], scored["negatives_only"], threshold,
                                                              scored.get("real_negatives"))
        return metrics, details

    def operating_curve(self, test: tuple, negatives: tuple, threshold: float, real: tuple | None = None
                        ) -> list[dict]:
        """Test recall/precision and negatives_only false accepts per hour at :data:`CURVE_THRESHOLDS` and
        the dev threshold: what another operating point would cost (each is ``(probs, times, ends, durations)``);
        with ``real`` (real_negatives), its false accepts per hour as ``real_false_accepts_per_hour``."""
        d = self.params["decode"]
        rows = []
        for thr in sorted({*CURVE_THRESHOLDS, threshold}):
            t = tw_metrics.event_metrics(*test, thr, d["tolerance_s"], d["min_gap_s"])
            n = tw_metrics.event_metrics(*negatives, thr, d["tolerance_s"], d["min_gap_s"])
            row = {"threshold": thr, "test_recall": t["recall"], "test_precision": t["precision"],
                   "false_accepts_per_hour": n["false_accepts_per_hour"]}
            if real is not None:
                row["real_false_accepts_per_hour"] = tw_metrics.event_metrics(
                    *real, thr, d["tolerance_s"], d["min_gap_s"])["false_accepts_per_hour"]
            rows.append(row)
        return rows
