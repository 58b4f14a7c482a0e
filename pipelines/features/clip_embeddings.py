"""openWakeWord speech embeddings of every trigger-word clip, computed once and kept as a DVC output.

    dlzoo data trigger_word_embeddings        # data/trigger_word -> data/trigger_word_embeddings (~35 min, 2 cores)

    from pipelines.features.clip_embeddings import read_split
    index, embeddings = read_split(Path("data/trigger_word_embeddings"), "dev", Path("data/trigger_word"))

The production wake-word detector (``pipelines.tasks.wake_word``) reads the frozen embedding of Google's
speech model (:mod:`pipelines.features.speech_embedding`) instead of a spectrogram. Computing it costs
~0.02 s per second of audio, 50 min for the 41 h of clips on one core; training reads the same clips every
epoch and every experiment, so the embeddings are a stage of their own and training reads them from here.

Layout per split of the source folder (the source's ``<split>.json`` in the same order):

* ``<split>.npy``: float16 ``(total steps, 96)``, every clip's steps one after the other (step ``j`` of a
  clip ends at ``0.782 + 0.08 j`` s);
* ``<split>.json``: ``{"source_sha256": sha256 of the source's <split>.json, "files": [...],
  "offsets": [0, ...] (clip i is rows offsets[i]:offsets[i+1]), "samples": [...] (each clip's length)}``.

The clips go to the workers in fixed chunks of :data:`CHUNK` and each worker embeds with one onnxruntime
thread, so the bytes are the same for any worker count. float16 keeps 3 significant digits: the embedding's
values lie within +-40 and its own noise between batched and single calls is ~1e-6 relative, far below.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from pipelines.data.audio import load_audio
from pipelines.data.trigger_word.splits import SPLITS
from pipelines.features.speech_embedding import DIM, RATE, SpeechEmbedding

CHUNK = 32  # clips per worker task (and per batched embedding call)

_EMBED: SpeechEmbedding | None = None


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _init_worker() -> None:
    global _EMBED
    _EMBED = SpeechEmbedding(threads=1)


def _embed_chunk(paths: list[str]) -> list[tuple[np.ndarray, int]]:
    """Embeddings (float16) and sample counts of a chunk of WAV files."""
    audio = [load_audio(Path(p).read_bytes(), RATE) for p in paths]
    return [(e.astype(np.float16), len(a)) for e, a in zip(_EMBED.embed_many(audio), audio, strict=True)]


def embed_files(paths: list[Path], workers: int = 1, desc: str = "embeddings") -> list[tuple[np.ndarray, int]]:
    """(float16 (steps, 96) embedding, sample count) of each WAV file, in order, on ``workers`` processes."""
    chunks = [[str(p) for p in paths[i:i + CHUNK]] for i in range(0, len(paths), CHUNK)]
    out: list[tuple[np.ndarray, int]] = []
    bar = tqdm(total=len(paths), desc=desc, unit="clip", mininterval=10)
    if workers <= 1 or len(chunks) <= 1:
        _init_worker()
        for chunk in chunks:
            out += _embed_chunk(chunk)
            bar.update(len(chunk))
    else:
        # spawn, not fork: the caller may hold threads (torch, Ray) that a forked child would inherit broken
        with multiprocessing.get_context("spawn").Pool(workers, _init_worker) as pool:
            for result in pool.imap(_embed_chunk, chunks):  # imap keeps the order
                out += result
                bar.update(len(result))
    bar.close()
    return out


def split_names(source: Path) -> list[str]:
    """The source's splits, in the generator's order (any other ``<name>.json`` after them, sorted)."""
    found = {p.stem for p in Path(source).glob("*.json") if not p.stem.startswith("_")}
    return [s for s in SPLITS if s in found] + sorted(found - set(SPLITS))


def write_split(source: Path, out: Path, split: str, workers: int = 1) -> dict:
    records = json.loads((Path(source) / f"{split}.json").read_text())
    embedded = embed_files([Path(source) / r["file"] for r in records], workers, desc=f"embeddings {split}")
    lengths = [len(e) for e, _ in embedded]
    matrix = np.concatenate([e for e, _ in embedded]) if embedded else np.zeros((0, DIM), np.float16)
    np.save(Path(out) / f"{split}.npy", matrix)
    index = {"source_sha256": sha256_file(Path(source) / f"{split}.json"), "files": [r["file"] for r in records],
             "offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(int).tolist(),
             "samples": [n for _, n in embedded]}
    (Path(out) / f"{split}.json").write_text(json.dumps(index) + "\n")
    return {"clips": len(records), "steps": int(matrix.shape[0])}


def write_dataset(params: dict, out: Path, seed: int | None = None, workers: int | None = None) -> dict:
    """Embed every split of ``params["source"]`` into ``out`` (``seed`` is unused: nothing here is random)."""
    source = Path(params["source"])
    splits = split_names(source)
    if not splits:
        raise FileNotFoundError(f"trigger_word_embeddings: no <split>.json in {source} (run `dlzoo data trigger_word`)")
    workers = workers or params.get("workers") or os.cpu_count() or 1
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*"):  # a split the source no longer has must not linger
        if stale.suffix in (".npy", ".json"):
            stale.unlink()
    return {split: write_split(source, out, split, workers) for split in splits}


def read_split(cache: Path, split: str, source: Path) -> tuple[dict, np.ndarray] | None:
    """The cached ``(index, float16 embeddings)`` of ``source``'s ``split``, or None when the cache does not hold
    that very split (missing, or computed from another ``<split>.json``)."""
    index_path, matrix_path = Path(cache) / f"{split}.json", Path(cache) / f"{split}.npy"
    source_json = Path(source) / f"{split}.json"
    if not (index_path.is_file() and matrix_path.is_file() and source_json.is_file()):
        return None
    index = json.loads(index_path.read_text())
    if index.get("source_sha256") != sha256_file(source_json):
        return None
    return index, np.load(matrix_path, mmap_mode="r")
