"""Wake word in two stages, measured: stage-1 candidates (wake_word) checked by an EfficientWord-Net verifier.

    python benchmarks/wake_word_two_stage.py                       # after dvc repro evaluate_wake_word
    python benchmarks/wake_word_two_stage.py --train-clips 3000 --candidate-threshold 0.1
    python benchmarks/wake_word_two_stage.py --oracle --train-clips 600   # the verifier alone, at true word ends

Stage 1 (the trained ``wake_word`` model) turns every clip into events at a low ``--candidate-threshold``;
each event is a candidate. Stage 2 embeds the 1.5 s of audio ending ``--offset`` s after the candidate with
EfficientWord-Net (:mod:`pipelines.features.word_embedding`, trained on real people's words) and scores it
with a logistic regression fitted here on candidates of ``--train-clips`` training clips (a candidate within
``decode.tolerance_s`` of a true "activate" end is positive, every other is negative: exactly the cases
stage 2 will see) plus windows ending at the training clips' other words (confusables and real talk).

Decision rules compared, each with its thresholds chosen on dev (best recall within
``decode.max_false_accepts_per_hour``), then scored on test (recall, per voice), negatives_only and
real_negatives (false accepts per hour):

* ``stage1``: the stage-1 peak alone (the ``wake_word`` row, up to candidate merging);
* ``stage1_mean3``: stage-1 probabilities averaged over 3 steps (240 ms) before thresholding;
* ``stage2``: the verifier alone on every candidate;
* ``both``: stage-1 peak >= a and verifier >= b, (a, b) on a grid.

``--oracle`` asks a simpler question first, without stage 1: how well does the verifier separate the 1.5 s
windows ending ``--offset`` s after every true "activate" of test from those after every other word of test
(confusables, other words, real people)? It prints the AUC and the recall at 2 % false positives per voice,
for the logistic regression (fitted on such windows of ``--train-clips`` training clips) and for the cosine
to the mean training "activate" (EfficientWord-Net's own few-shot rule).

Candidates are reported where stage 1 first crosses the candidate threshold; a higher stage-1 threshold is
applied to the candidate's peak, so ``both`` approximates a detector run at threshold a (a run that dips below
a inside one candidate counts once). Writes benchmarks/results/wake_word_two_stage.json; EfficientWord-Net
runs on ``--workers`` processes of one onnxruntime thread each.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from pathlib import Path

import numpy as np
import torch

from pipelines.data.audio import load_audio
from pipelines.data.trigger_word.voices import voice_of
from pipelines.evaluation.trigger_word import DEFAULT_GRID, match_events
from pipelines.features.word_embedding import RATE, WINDOW, WordEmbedding
from pipelines.models.trigger_word import detect_events
from pipelines.params import load_params, section
from pipelines.training.artifacts import load_model

RESULTS = Path("benchmarks/results/wake_word_two_stage.json")
_EMBED: WordEmbedding | None = None


def _init(quantized: bool) -> None:
    global _EMBED
    torch.set_num_threads(1)
    _EMBED = WordEmbedding(quantized=quantized, threads=1)


def _embed_windows(job: tuple[str, list[float]]) -> np.ndarray:
    """The word embeddings of the 1.5 s windows of one WAV file that end at the given times (s)."""
    path, ends = job
    audio = load_audio(Path(path).read_bytes(), RATE)
    windows = np.zeros((len(ends), WINDOW), np.float32)
    for i, end in enumerate(ends):
        stop = int(round(end * RATE))
        piece = audio[max(0, stop - WINDOW):max(0, stop)]
        windows[i, WINDOW - len(piece):] = piece  # zeros before the clip starts
    return _EMBED(windows) if len(ends) else np.zeros((0, 2048), np.float32)


def embed_all(jobs: list[tuple[str, list[float]]], workers: int, quantized: bool) -> list[np.ndarray]:
    if workers <= 1:
        _init(quantized)
        return [_embed_windows(j) for j in jobs]
    with multiprocessing.get_context("spawn").Pool(workers, _init, (quantized,)) as pool:
        return pool.map(_embed_windows, jobs, chunksize=8)


def candidates(probs: list[np.ndarray], times: list[np.ndarray], threshold: float, min_gap_s: float) -> list[tuple]:
    """Per clip (candidate times, stage-1 peaks)."""
    return [detect_events(p, t, threshold, min_gap_s) for p, t in zip(probs, times, strict=True)]


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 300) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by L-BFGS (torch), classes weighted to balance."""
    xt, yt = torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.float32))
    w = torch.zeros(x.shape[1], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    pos = float(yt.mean())
    weights = torch.where(yt > 0.5, 0.5 / max(pos, 1e-6), 0.5 / max(1 - pos, 1e-6))
    opt = torch.optim.LBFGS([w, b], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = (torch.nn.functional.binary_cross_entropy_with_logits(xt @ w + b, yt, weight=weights)
                + l2 * (w * w).sum())
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().numpy(), float(b.detach())


def score_rule(split: dict, keep, tolerance_s: float) -> dict:
    """Recall, false accepts and per-voice recall of the candidates ``keep(peak, verifier)`` lets through."""
    tp = fn = fp = 0
    by_voice: dict[str, list[int]] = {}
    for (times, peaks), scores, record in zip(split["candidates"], split["scores"], split["records"], strict=True):
        kept = np.asarray([t for t, p, s in zip(times, peaks, scores, strict=True) if keep(p, s)])
        ends = sorted(record.get("activates", []), key=lambda e: e["end_s"])
        found, false = match_events(kept, np.asarray([e["end_s"] for e in ends]), tolerance_s)
        tp, fn, fp = tp + sum(found), fn + len(found) - sum(found), fp + false
        for ok, event in zip(found, ends, strict=True):
            v = by_voice.setdefault(voice_of(event["voice"]) if "voice" in event else "?", [0, 0])
            v[0] += int(ok)
            v[1] += 1
    return {"recall": tp / (tp + fn) if tp + fn else None, "false_accepts": fp,
            "false_accepts_per_hour": fp / split["hours"],
            "recall_by_voice": {k: round(a / b, 3) for k, (a, b) in sorted(by_voice.items())}}


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (the Mann-Whitney statistic; ties are broken by order)."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    ranks = np.argsort(np.argsort(np.concatenate([pos, neg])))
    return float((ranks[:len(pos)].sum() - len(pos) * (len(pos) - 1) / 2) / (len(pos) * len(neg)))


def word_windows(data: Path, records: list[dict], offset: float) -> tuple[list, np.ndarray, list[str]]:
    """One job per clip: windows ending ``offset`` s after each word; label 1 for "activate"; each word's voice."""
    jobs, labels, voices = [], [], []
    for r in records:
        words = [(a["end_s"], 1, voice_of(a["voice"])) for a in r.get("activates", [])]
        words += [(w["end_s"], 0, voice_of(w["voice"]) if "voice" in w else "real") for w in r.get("negatives", [])]
        if words:
            jobs.append((str(data / r["file"]), [e + offset for e, _, _ in words]))
            labels += [y for _, y, _ in words]
            voices += [v for _, _, v in words]
    return jobs, np.asarray(labels), voices


def oracle(data: Path, args) -> dict:
    """The verifier on windows at the true word ends of test (see the module docstring)."""
    train = json.loads((data / "train.json").read_text())
    rng = np.random.default_rng(args.seed)
    train = [train[i] for i in np.sort(rng.choice(len(train), min(args.train_clips, len(train)), replace=False))]
    train_jobs, y_train, _ = word_windows(data, train, args.offset)
    test_jobs, y_test, voices = word_windows(data, json.loads((data / "test.json").read_text()), args.offset)
    embedded = embed_all(train_jobs + test_jobs, args.workers, args.quantized)
    x_train, x_test = np.concatenate(embedded[:len(train_jobs)]), np.concatenate(embedded[len(train_jobs):])
    w, b = fit_logistic(x_train, y_train)
    prototype = x_train[y_train == 1].mean(axis=0)
    voices = np.asarray(voices)
    report: dict = {"train_windows": int(len(y_train)), "test_windows": int(len(y_test))}
    for name, scores in (("logistic", x_test @ w + b), ("cosine", x_test @ (prototype / np.linalg.norm(prototype)))):
        negatives = scores[y_test == 0]
        cut = np.quantile(negatives, 0.98)
        rows = {"all": {"auc": round(auc(scores, y_test), 4), "recall_at_2pct_fp": round(float(
            (scores[y_test == 1] >= cut).mean()), 3)}}
        for voice in sorted(set(voices[y_test == 1])):
            own = scores[(y_test == 1) & (voices == voice)]
            both = np.r_[np.ones(len(own)), np.zeros(len(negatives))]
            rows[voice] = {"activates": len(own), "auc": round(auc(np.concatenate([own, negatives]), both), 4),
                           "recall_at_2pct_fp": round(float((own >= cut).mean()), 3)}
        report[name] = rows
        print(name, json.dumps(rows))
    return report


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=Path("artifacts/wake_word/model.pt"))
    ap.add_argument("--data", type=Path, default=None, help="default: params data_trigger_word.out")
    ap.add_argument("--train-clips", type=int, default=2000)
    ap.add_argument("--candidate-threshold", type=float, default=0.2)
    ap.add_argument("--offset", type=float, default=0.1, help="s after the candidate where its window ends")
    ap.add_argument("--quantized", action="store_true", help="EfficientWord-Net's int8 export")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--oracle", action="store_true", help="the verifier at true word ends only (no stage 1)")
    args = ap.parse_args(argv)

    params = load_params("params.yaml")
    data = args.data or Path(section(params, "data_trigger_word")["out"])
    if args.oracle:
        report = {"offset_s": args.offset, **oracle(data, args)}
        path = RESULTS.with_name("wake_word_verifier_oracle.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {path}")
        return report
    net, bundle = load_model(args.model)
    from pipelines.tasks.wake_word import WakeWordTask

    task = WakeWordTask(bundle["params"], bundle["meta"])
    d = bundle["params"]["decode"]
    budget = float(d["max_false_accepts_per_hour"])
    started = time.perf_counter()

    splits: dict[str, dict] = {}
    rng = np.random.default_rng(args.seed)
    for name in ("train", "dev", "test", "negatives_only", "real_negatives"):
        clips = task.clip_set(data, name)
        pick = np.arange(len(clips))
        if name == "train":
            pick = np.sort(rng.choice(len(clips), min(args.train_clips, len(clips)), replace=False))
        sub = type(clips)([clips.records[i] for i in pick], [clips.inputs[i] for i in pick],
                          [clips.seconds[i] for i in pick])
        probs = task._probs(net, sub)
        p, t = [x for x, _ in probs], [y for _, y in probs]
        mean3 = [np.convolve(x, np.ones(3) / 3)[:len(x)] for x in p]  # causal: the step and the two before it
        splits[name] = {"records": sub.records, "hours": sum(sub.seconds) / 3600, "probs": p, "times": t,
                        "mean3": mean3,
                        "candidates": candidates(p, t, args.candidate_threshold, d["min_gap_s"])}
    print(f"stage 1 scored in {time.perf_counter() - started:.0f} s", flush=True)

    # one job per clip: its candidates' windows (+ its other words' ends on train)
    jobs, owners = [], []
    for name, split in splits.items():
        for k, ((times, _), record) in enumerate(zip(split["candidates"], split["records"], strict=True)):
            ends = [float(x) + args.offset for x in times]
            extra = [float(w["end_s"]) + args.offset for w in record.get("negatives", [])] if name == "train" else []
            if ends or extra:
                jobs.append((str(data / record["file"]), ends + extra))
                owners.append((name, k, len(ends)))
    t0 = time.perf_counter()
    embedded = embed_all(jobs, args.workers, args.quantized)
    windows = sum(len(j[1]) for j in jobs)
    embed_s = time.perf_counter() - t0
    print(f"{windows} windows embedded in {embed_s:.0f} s on {args.workers} workers", flush=True)
    for split in splits.values():
        split["embeddings"] = [np.zeros((len(t), 2048), np.float32) for t, _ in split["candidates"]]
    x_train, y_train = [], []
    for (name, k, n), e in zip(owners, embedded, strict=True):
        split = splits[name]
        split["embeddings"][k] = e[:n]
        if name == "train":
            truth = [a["end_s"] for a in split["records"][k].get("activates", [])]
            for t, row in zip(split["candidates"][k][0], e[:n], strict=True):
                x_train.append(row)
                y_train.append(any(abs(t - end) <= d["tolerance_s"] for end in truth))
            for row in e[n:]:  # the clip's other words: never "activate"
                x_train.append(row)
                y_train.append(False)
    x, y = np.asarray(x_train), np.asarray(y_train, float)
    w, b = fit_logistic(x, y)
    print(f"verifier fitted on {len(y)} windows ({int(y.sum())} positive)", flush=True)
    for split in splits.values():
        split["scores"] = [1 / (1 + np.exp(-(e @ w + b))) if len(e) else np.zeros(0) for e in split["embeddings"]]

    grid = [float(g) for g in DEFAULT_GRID if g >= args.candidate_threshold]
    rules = {
        "stage1": [(a, lambda p, s, a=a: p >= a) for a in grid],
        "stage2": [(c, lambda p, s, c=c: s >= c) for c in grid],
        "both": [((a, c), lambda p, s, a=a, c=c: p >= a and s >= c) for a in grid[::4] for c in grid[::2]],
    }
    report: dict = {"candidate_threshold": args.candidate_threshold, "offset_s": args.offset,
                    "train_windows": int(len(y)), "train_positive_windows": int(y.sum()),
                    "word_embedding": "int8" if args.quantized else "float32",
                    "windows_embedded": int(windows), "embed_seconds": round(embed_s, 1), "rules": {}}
    tol = d["tolerance_s"]
    for rule, options in rules.items():
        dev = [(key, score_rule(splits["dev"], keep, tol)) for key, keep in options]
        within = [(m["recall"], key) for key, m in dev if m["false_accepts_per_hour"] <= budget]
        key, keep = next(o for o in options if o[0] == max(within)[1]) if within else options[-1]
        report["rules"][rule] = {"thresholds": key, "dev": score_rule(splits["dev"], keep, tol),
                                 **{s: score_rule(splits[s], keep, tol)
                                    for s in ("test", "negatives_only", "real_negatives")}}
    # stage 1 smoothed over 3 steps, re-decoded (a decision rule the anchors use)
    mean_rule = {}
    for name in ("dev", "test", "negatives_only", "real_negatives"):
        s = splits[name]
        mean_rule[name] = {"candidates": candidates(s["mean3"], s["times"], args.candidate_threshold, d["min_gap_s"]),
                           "records": s["records"], "hours": s["hours"]}
        mean_rule[name]["scores"] = [np.zeros(len(c[0])) for c in mean_rule[name]["candidates"]]
    dev = [(a, score_rule(mean_rule["dev"], lambda p, s, a=a: p >= a, tol)) for a in grid]
    within = [(m["recall"], a) for a, m in dev if m["false_accepts_per_hour"] <= budget]
    a = max(within)[1] if within else grid[-1]
    report["rules"]["stage1_mean3"] = {"thresholds": a, **{n: score_rule(mean_rule[n], lambda p, s: p >= a, tol)
                                                            for n in ("dev", "test", "negatives_only",
                                                                      "real_negatives")}}
    report["seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    for rule, r in report["rules"].items():
        print(f"{rule:13s} thr={r['thresholds']}  dev recall {r['dev']['recall']:.3f} "
              f"({r['dev']['false_accepts_per_hour']:.2f} FA/h)  test recall {r['test']['recall']:.3f}  "
              f"FA/h negatives_only {r['negatives_only']['false_accepts_per_hour']:.2f}  "
              f"real {r['real_negatives']['false_accepts_per_hour']:.2f}  per voice {r['test']['recall_by_voice']}")
    print(f"wrote {RESULTS}")
    return report


if __name__ == "__main__":
    main()
