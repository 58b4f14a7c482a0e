"""The trigger word in the strategy report: train-dev clips, views, the worst voices, missed words and false
accepts a person can listen to.

Train-dev: clips ``n_train ..`` of the train split's own stream (each clip is a function of (seed, split,
index)): the training voices, words, noise and mix, never trained on. Synthesis reads the word cache through
hard links in a scratch folder, so words it adds never change the data stage's own cache output.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from pipelines.strategy.views import sample

UNIT = "activates"


def scored(metrics: dict) -> int:
    """The decisions a split's error is a share of: its activates."""
    return int(metrics.get("activates", 0))


def view(folder: Path, split: str, out: Path, limit: int | None, seed: int, task) -> int:
    """``out/test.json``: a sample of the split's records; their clips are read through a link to the folder."""
    records = json.loads((Path(folder) / f"{split}.json").read_text(encoding="utf-8"))
    records = [records[i] for i in sample(len(records), limit, seed)]
    os.symlink((Path(folder) / split).resolve(), out / split)
    (out / "test.json").write_text(json.dumps(records), encoding="utf-8")
    return len(records)


def error_sample(task, model, view_dir: Path, details: dict, key: str, n: int, seed: int, data_params: dict,
                 look_at: int = 150):
    """Recall per voice (worst first), then in ``look_at`` test clips the missed "activate"s and the false
    accepts at the threshold chosen on dev: clip, time, voice, for a person to listen to."""
    from pipelines.data.audio import decode_wav
    from pipelines.evaluation.trigger_word import match_events

    by_voice = details.get("recall_by_voice", {})
    lines = ["Recall per voice on test, worst first:", "", "| voice | activates | recall |", "|---|---|---|"]
    lines += [f"| {v} | {d['activates']} | {d['recall']:.3f} |"
              for v, d in sorted(by_voice.items(), key=lambda kv: kv[1]["recall"])]
    records = json.loads((view_dir / "test.json").read_text(encoding="utf-8"))
    records = [records[i] for i in sample(len(records), look_at, seed)]
    audio = [decode_wav((view_dir / r["file"]).read_bytes())[0] for r in records]
    found = task.detect(model, audio)
    tolerance = float(task.params["decode"]["tolerance_s"])
    missed, false = [], []
    for record, events in zip(records, found, strict=True):
        times = np.array([e["time_s"] for e in events])
        ends = np.array(record["activate_ends_s"])
        hit, _ = match_events(times, ends, tolerance)
        spoken = sorted(record.get("activates", []), key=lambda e: e["end_s"])
        missed += [(record["file"], event) for ok, event in zip(hit, spoken, strict=False) if not ok]
        false += [(record["file"], e) for e in events if not len(ends) or np.abs(ends - e["time_s"]).min() > tolerance]
    lines += ["", f"In {len(records)} test clips at the threshold {float(task.meta['threshold']):.3f}: "
              f"{len(missed)} 'activate' missed, {len(false)} false accepts.", "",
              "| clip | what | at (s) | voice / confidence |", "|---|---|---|---|"]
    lines += [f"| {f} | missed | {e['end_s']:.2f} | {e.get('voice', '?')} |" for f, e in missed[:n]]
    lines += [f"| {f} | false accept | {e['time_s']:.2f} | {e['confidence']:.3f} |" for f, e in false[:n]]
    return lines, {}
