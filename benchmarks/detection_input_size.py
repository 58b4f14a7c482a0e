"""Detection mAP against the inference letterbox size, on the dev split: how to choose ``decode.input_size``.

    python benchmarks/detection_input_size.py                          # artifacts/detection, 256..384, 256+384
    python benchmarks/detection_input_size.py --sizes 256,320,256+384 --split test --data data/detection

The network is fully convolutional, so it runs at any multiple of its coarsest stride; a larger
letterbox than the training one gives small objects more pixels at some cost to the largest ones and
time (~ size^2); ``256+384`` runs both sizes and merges their detections. Choose on dev (the default
split), then confirm once on test with `dvc repro`. Prints one row per setting (mAP@0.5, mAP,
small/medium/large, ms per image) and writes benchmarks/results/detection_input_size.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from pipelines.params import load_params
from pipelines.tasks.detection import DetectionTask, check_input_size, find_splits, relabel
from pipelines.training.artifacts import load_model

KEYS = ("map50", "map", "map_small", "map_medium", "map_large")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=Path("artifacts/detection/model.pt"))
    ap.add_argument("--data", type=Path, default=None, help="COCO/VOC directory (default: params data_detection.out)")
    ap.add_argument("--split", default="dev")
    ap.add_argument("--sizes", default="256,288,320,352,384,256+384",
                    help="comma-separated letterbox sides, px; a+b merges the detections of both")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    params = load_params()
    data = args.data or Path(params["data_detection"]["out"])
    model, bundle = load_model(args.model)
    try:
        sizes = [check_input_size(model.cfg, [int(x) for x in s.split("+")])
                 for s in args.sizes.split(",") if s.strip()]
    except ValueError as err:
        raise SystemExit(f"detection_input_size: --sizes {args.sizes!r}: {err}") from None
    task = DetectionTask(params["detection"], bundle["meta"])
    splits = find_splits(data)
    if args.split not in splits:
        raise SystemExit(f"detection_input_size: {data} has no split {args.split!r} (it has {sorted(splits)})")
    records = relabel(splits[args.split], bundle["meta"]["categories"])

    rows = []
    for size in sizes:
        t0 = time.perf_counter()
        stats, _ = task.score(model, records, f"{args.split} @ {size}", input_size=size)
        ms = (time.perf_counter() - t0) * 1000 / len(records)
        rows.append({"input_size": "+".join(map(str, size)), **{k: round(float(stats[k]), 4) for k in KEYS},
                     "ms_per_image": round(ms, 1)})
    print(f"\n{args.split} of {data}: {len(records)} images; model trained at {model.cfg.input_size} px")
    print(" ".join(f"{h:>12}" for h in ("input_size", *KEYS, "ms_per_image")))
    for row in rows:
        print(" ".join(f"{row[h]:>12}" for h in ("input_size", *KEYS, "ms_per_image")))
    result = {"model": str(args.model), "data": str(data), "split": args.split,
              "train_input_size": model.cfg.input_size, "rows": rows}
    out = Path(__file__).parent / "results" / "detection_input_size.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
