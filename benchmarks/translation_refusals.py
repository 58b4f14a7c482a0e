"""Dates and non-dates through the live translation service: what a client gets, split by split.

    python benchmarks/translation_refusals.py                      # artifacts/translation/model.pt, data/translation
    python benchmarks/translation_refusals.py --limit 500          # the first 500 rows of each split

Packages the trained model, starts TorchServe on free ports (token auth on) and posts every row of the
held-out splits (``test``, ``unseen_formats``: real dates; ``not_dates``: strings that are not dates,
of kinds and locales training never saw), then 200 impossible dates ("31 April 1990", "2/30/2001"), as
a client would, 8 at a time. Per split: exact match (a
refusal counts as a miss), the share refused (422 "not a date"), impossible calendar dates answered,
and any other status (5xx must be 0). Writes benchmarks/results/translation_refusals.json.
"""

from __future__ import annotations

import argparse
import calendar
import json
import random
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from tqdm import tqdm

from pipelines.data.dates import Example, calendar_error, read_tsv
from pipelines.params import load_params
from pipelines.serving.package import package
from pipelines.serving.server import on_free_ports

SPLITS = ("test", "unseen_formats", "not_dates")


def impossible_dates(n: int = 200, seed: int = 0) -> list[Example]:
    """Dates the calendar does not have (31 April, 30 February, 29 February of a common year), written
    the ways people write dates; the ``target`` is what a model that ignores the calendar would answer."""
    rng = random.Random(seed)
    months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December"]
    forms = ["{d} {M} {y}", "{M} {d}, {y}", "{m}/{d}/{y}", "{y}-{m:02d}-{d:02d}", "{d}.{m:02d}.{y}",
             "the {d}th of {M} {y}"]
    rows = []
    while len(rows) < n:
        y, m = rng.randint(1950, 2049), rng.choice([2, 4, 6, 9, 11])
        d = rng.choice([29, 30, 31] if m == 2 else [31])
        if m == 2 and d == 29 and calendar.isleap(y):
            continue
        text = rng.choice(forms).format(d=d, m=m, M=months[m - 1], y=y)
        rows.append(Example(text, f"{y}-{m:02d}-{d:02d}", "impossible"))
    return rows


def run_split(url: str, headers: dict, rows: list, name: str) -> dict:
    session = requests.Session()

    def one(row):
        r = session.post(url, json={"text": row.source}, headers=headers, timeout=60)
        return row, r.status_code, r.json() if r.headers.get("Content-Type", "").startswith("application/json") else {}

    statuses: Counter = Counter()
    exact = impossible = 0
    with ThreadPoolExecutor(8) as pool:
        for row, status, body in tqdm(pool.map(one, rows), total=len(rows), desc=name, unit="req"):
            statuses[status] += 1
            if status == 200:
                exact += body["translation"] == row.target
                impossible += calendar_error(body["translation"]) is not None
    n = len(rows)
    return {"n": n, "exact_match": exact / n, "refused": statuses[422] / n, "impossible_answered": impossible,
            "statuses": {str(k): v for k, v in sorted(statuses.items())}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-file", default="artifacts/translation/model.pt")
    parser.add_argument("--data", default=None, help="folder of the splits (default: data_translation.out)")
    parser.add_argument("--limit", type=int, default=None, help="rows per split (default: all)")
    parser.add_argument("--out", default="benchmarks/results/translation_refusals.json")
    args = parser.parse_args()
    params = load_params("params.yaml")
    data = Path(args.data or params["data_translation"]["out"])
    result: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        package("translation", params, Path(args.model_file), tmp / "store")
        server = on_free_ports(params, tmp / "store", tmp / "run")
        server.start()
        try:
            url, headers = f"{server.inference_url}/predictions/translation", server.auth()
            for split in SPLITS:
                rows = read_tsv(data / f"{split}.tsv")[: args.limit]
                result[split] = run_split(url, headers, rows, split)
            result["impossible_dates"] = run_split(url, headers, impossible_dates(), "impossible_dates")
        finally:
            server.stop()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
