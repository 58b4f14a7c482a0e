"""Real-time factor of the frozen speech front ends (pipelines/features) on one CPU thread.

    python benchmarks/speech_frontends.py                       # 60 s of audio, word windows every 0.75 s
    python benchmarks/speech_frontends.py --seconds 120 --hop 0.1 --threads 2

Real-time factor (RTF) = compute seconds / audio seconds: below 1 keeps up with a live stream on that many
threads. Rows: the speech embedding over the whole clip at once (one mel call, batched embedding calls); the
same one step per call on its own 12512 samples (a stream that recomputes every window: the upper bound of
streaming cost); the word embedding (float32 and int8) on 1.5 s windows every ``--hop`` s, whose cost is one
network run per window, so its RTF scales as ms-per-window / hop. The audio is seeded noise: every model
here runs fixed-size convolutions, so the cost does not depend on what is said (only digital silence is
skipped by the word embedding). Best of ``--repeats`` runs after a warm-up call; the load average is printed
because other jobs on the machine slow every row alike.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from pipelines.features.speech_embedding import CONTEXT, STEP, SpeechEmbedding, n_steps
from pipelines.features.word_embedding import WINDOW, WordEmbedding

RATE = 16_000


def best_time(fn, repeats: int) -> float:
    fn()  # warm-up: onnxruntime allocates its buffers on the first run
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="audio length")
    parser.add_argument("--hop", type=float, default=0.75, help="seconds between word-embedding windows")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    audio = np.random.default_rng(0).normal(0, 0.1, int(args.seconds * RATE)).astype(np.float32)
    hop = int(args.hop * RATE)
    windows = np.stack([audio[s:s + WINDOW] for s in range(0, len(audio) - WINDOW + 1, hop)])
    speech = SpeechEmbedding(threads=args.threads)
    steps = n_steps(len(audio))

    rows = []
    t = best_time(lambda: speech(audio), args.repeats)
    rows.append(("speech embedding, whole clip", f"{steps} steps", t, 1000 * t / steps))
    t = best_time(lambda: [speech(audio[j * STEP:j * STEP + CONTEXT]) for j in range(steps)], args.repeats)
    rows.append(("speech embedding, one step per call", f"{steps} steps", t, 1000 * t / steps))
    for quantized in (False, True):
        model = WordEmbedding(quantized=quantized, threads=args.threads)
        t = best_time(lambda model=model: model(windows), args.repeats)
        name = f"word embedding {'int8' if quantized else 'float32'}, hop {args.hop:g} s"
        rows.append((name, f"{len(windows)} windows", t, 1000 * t / len(windows)))

    cpu = platform.processor() or platform.machine()
    print(f"{args.seconds:g} s of 16 kHz audio, {args.threads} thread(s), {cpu}, "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'front end':<42} {'calls':>12} {'seconds':>8} {'ms/unit':>8} {'RTF':>7}")
    for name, count, seconds, ms in rows:
        print(f"{name:<42} {count:>12} {seconds:8.2f} {ms:8.2f} {seconds / args.seconds:7.4f}")


if __name__ == "__main__":
    main()
