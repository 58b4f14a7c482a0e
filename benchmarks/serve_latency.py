"""TorchServe overhead and dynamic batching for the translation service.

    python benchmarks/serve_latency.py                     # uses artifacts/translation/model.pt
    python benchmarks/serve_latency.py --requests 400 --concurrency 16

1. Latency of one request: the handler called directly (mock context, same process) vs through
   TorchServe over HTTP with token auth; overhead = HTTP - direct, at p50 and p99.
2. Throughput at a concurrency of 16, with dynamic batching on (the service's batch_size) vs off
   (batch_size 1), each from its own freshly packaged .mar; the ratio is on / off.
Writes benchmarks/results/serve_latency.json.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from pipelines.params import load_params
from pipelines.serving.package import package
from pipelines.serving.server import Server, free_port
from services.mock_context import MockContext
from services.translation import TranslationHandler

TEXTS = ["3 May 1979", "tuesday 5 april 2016", "03.05.79", "5/3/1979", "MAY 3 1979", "the 21st of june, 2001",
         "2016-04-05", "samedi 27 février 1971", "Sep 25 1962", "12th of october, 1987"]


def percentiles(samples: list[float]) -> dict:
    qs = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50_ms": 1000 * qs[49], "p99_ms": 1000 * qs[98], "mean_ms": 1000 * statistics.fmean(samples)}


def direct_latency(mar: Path, n: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        zipfile.ZipFile(mar).extractall(tmp)
        handler = TranslationHandler()
        handler.initialize(MockContext(tmp))
        times = []
        for i in range(n):
            ctx = MockContext(tmp, [{"Content-Type": "application/json"}])
            t0 = time.perf_counter()
            handler.handle([{"body": {"text": TEXTS[i % len(TEXTS)]}}], ctx)
            times.append(time.perf_counter() - t0)
    return percentiles(times)


def start(params: dict, store: Path, run_dir: Path) -> Server:
    ports = {k: free_port() for k in ("inference_port", "management_port", "metrics_port", "exporter_port")}
    server = Server.from_params(params, store=str(store), run_dir=str(run_dir), worker_port=free_port(), **ports)
    server.start()
    return server


def http_latency(server: Server, n: int) -> dict:
    url, headers = f"{server.inference_url}/predictions/translation", server.auth()
    session = requests.Session()
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        r = session.post(url, json={"text": TEXTS[i % len(TEXTS)]}, headers=headers, timeout=30)
        times.append(time.perf_counter() - t0)
        r.raise_for_status()
    return percentiles(times)


def throughput(server: Server, n: int, concurrency: int) -> dict:
    url, headers = f"{server.inference_url}/predictions/translation", server.auth()

    def one(i: int) -> int:
        return requests.post(url, json={"text": TEXTS[i % len(TEXTS)]}, headers=headers, timeout=60).status_code

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(concurrency)))  # warm-up
        t0 = time.perf_counter()
        codes = list(pool.map(one, range(n)))
        elapsed = time.perf_counter() - t0
    return {"requests_per_second": n / elapsed, "ok": codes.count(200), "requests": n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-file", default="artifacts/translation/model.pt", help="trained model")
    parser.add_argument("--requests", type=int, default=300, help="requests per measurement")
    parser.add_argument("--concurrency", type=int, default=16, help="parallel clients for throughput")
    parser.add_argument("--out", default="benchmarks/results/serve_latency.json", help="JSON result file")
    args = parser.parse_args()
    params = load_params("params.yaml")
    result: dict = {"requests": args.requests, "concurrency": args.concurrency}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for mode, batch in (("batching_on", params["serve"]["services"]["translation"]["batch_size"]),
                            ("batching_off", 1)):
            p = copy.deepcopy(params)
            p["serve"]["services"]["translation"]["batch_size"] = batch
            mar = package("translation", p, Path(args.model_file), tmp / mode)
            server = start(p, tmp / mode, tmp / f"run-{mode}")
            try:
                if mode == "batching_on":
                    result["direct"] = direct_latency(mar, args.requests)
                    result["http"] = http_latency(server, args.requests)
                result[mode] = {"batch_size": batch, **throughput(server, args.requests, args.concurrency)}
            finally:
                server.stop()
    result["overhead_ms"] = {k: result["http"][k] - result["direct"][k] for k in ("p50_ms", "p99_ms")}
    result["batching_throughput_ratio"] = (result["batching_on"]["requests_per_second"]
                                           / result["batching_off"]["requests_per_second"])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
