"""Trigger word on a voice it never heard: train without one training voice, then score that voice.

    python benchmarks/trigger_word_voice_holdout.py                            # without flite-slt, 3 epochs
    python benchmarks/trigger_word_voice_holdout.py --voice flite-awb --set trigger_word.features.mel_bins=64

Test's held-out voices say how the trained model generalises, but choosing a feature or an augmentation
by them would tune it to test. This holds out one *training* voice instead: every training clip in which
that voice speaks any word is dropped, the trigger-word task (its own loss, features and augmentation)
trains a few epochs on the rest in a plain torch loop, and the dropped clips are scored. Reported: the
peak probability within ``decode.tolerance_s`` of each "activate" of the left-out voice (median, and the
share at or above 0.5 / 0.9 / 0.98), the same for the other voices' "activate"s in those clips, and
seconds per epoch. Compare settings within one run of this script or runs on the same machine; the
default data is ``data_trigger_word.out`` (``dvc repro data_trigger_word``). Writes
benchmarks/results/trigger_word_voice_holdout.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from pipelines.data.trigger_word.voices import source_voices, voice_of
from pipelines.params import load_params
from pipelines.tasks.trigger_word import ClipSet, TriggerWordTask, feature_params, predict_probs, read_split
from pipelines.training.loop import seed_everything, train_step
from pipelines.training.recipe import make_scheduler

THRESHOLDS = (0.5, 0.9, 0.98)


def speaks(record: dict, voice: str) -> bool:
    """Whether ``voice`` (an accent such as ``en-us``, or ``flite-slt``) says any word of the clip, alone or
    in a Kokoro blend."""
    return any(voice in source_voices(w["voice"]) for w in record.get("activates", []) + record.get("negatives", []))


def peak_stats(peaks: list[float]) -> dict:
    p = np.asarray(peaks, dtype=float)
    if not len(p):
        return {"activates": 0}
    return {"activates": len(p), "median_peak": round(float(np.median(p)), 3),
            **{f"share_at_{t}": round(float((p >= t).mean()), 3) for t in THRESHOLDS}}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--voice", default="flite-slt",
                    help="a training voice: an espeak accent, flite-<name> or kokoro-<name>")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--data", type=Path, default=None, help="default: params data_trigger_word.out")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="params override, e.g. trigger_word.augment.vtlp_warp=0.3 (repeatable)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    if args.epochs < 1:
        raise SystemExit(f"trigger_word_voice_holdout: --epochs must be at least 1, got {args.epochs}")

    torch.set_num_threads(args.threads)
    params = load_params(overrides=args.overrides)
    cfg = params["trigger_word"]
    data = args.data or Path(params["data_trigger_word"]["out"])
    records = read_split(data, "train")
    voices = sorted({voice_of(w["voice"]) for r in records for w in r.get("activates", [])})
    if args.voice not in voices:
        raise SystemExit(f"trigger_word_voice_holdout: --voice {args.voice!r} says no 'activate' in {data}/train.json "
                         f"(its voices: {voices})")
    kept = [r for r in records if not speaks(r, args.voice)]
    held = [r for r in records if speaks(r, args.voice)]
    rate = feature_params(cfg)["sample_rate"]
    print(f"[holdout] {args.voice}: training on {len(kept)} clips, scoring the {len(held)} it speaks in", flush=True)

    generator = seed_everything(cfg["train"]["seed"])
    task = TriggerWordTask(cfg)
    task.train_set = ClipSet(data, kept, rate)
    task.meta["label_window_s"] = float(kept[0].get("label_window_s", 0.364))
    model = task.build_model(task.model_config())
    train_cfg = {**cfg["train"], "epochs": args.epochs}
    loader = DataLoader(task.train_set, batch_size=train_cfg["batch_size"], shuffle=True, collate_fn=task.collate,
                        generator=generator, drop_last=len(kept) > train_cfg["batch_size"])
    opt = torch.optim.AdamW(model.parameters(), lr=train_cfg["lr"], weight_decay=train_cfg["weight_decay"])
    scheduler = make_scheduler(opt, train_cfg, len(loader))
    epoch_s = []
    for epoch in range(args.epochs):
        model.train()
        t0, losses = time.perf_counter(), []
        for batch in loader:
            losses.append(train_step(task, model, batch, opt, scheduler, train_cfg.get("clip_grad")).item())
        epoch_s.append(time.perf_counter() - t0)
        print(f"[holdout] epoch {epoch + 1}/{args.epochs}: mean loss {np.mean(losses):.4f}, {epoch_s[-1]:.0f} s",
              flush=True)

    held_set = ClipSet(data, held, rate)
    out = predict_probs(model, list(held_set.audio), feature_params(cfg), cfg["train"].get("eval_batch_size", 32))
    tolerance = cfg["decode"]["tolerance_s"]
    peaks: dict[str, list[float]] = {"held_out_voice": [], "other_voices": []}
    for (probs, times), record in zip(out, held, strict=True):
        for word in record.get("activates", []):
            near = (times >= word["end_s"] - tolerance) & (times <= word["end_s"] + tolerance)
            voices = source_voices(word["voice"])
            if args.voice in voices and len(voices) > 1:
                continue  # a Kokoro blend with the left-out voice: neither that voice alone nor another
            key = "held_out_voice" if voices == [args.voice] else "other_voices"
            peaks[key].append(float(probs[near].max()) if near.any() else 0.0)
    result = {"voice": args.voice, "epochs": args.epochs, "overrides": args.overrides, "train_clips": len(kept),
              "scored_clips": len(held), "seconds_per_epoch": round(float(np.mean(epoch_s)), 1),
              **{k: peak_stats(v) for k, v in peaks.items()}}
    print(json.dumps(result, indent=2))
    path = Path("benchmarks/results/trigger_word_voice_holdout.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
