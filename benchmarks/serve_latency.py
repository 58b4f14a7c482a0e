"""TorchServe overhead and dynamic batching of a dlzoo service.

    python benchmarks/serve_latency.py                              # translation, artifacts/translation/model.pt
    python benchmarks/serve_latency.py --service detection          # test images of data/detection
    python benchmarks/serve_latency.py --service trigger_word       # + real-time factor, one core
    python benchmarks/serve_latency.py --requests 400 --concurrency 16

1. Latency of one request: the handler called directly (mock context, same process) vs through
   TorchServe over HTTP with token auth; overhead = HTTP - direct, at p50 and p99.
2. Throughput at a concurrency of 16, with dynamic batching on (the service's batch_size) vs off
   (batch_size 1), each from its own freshly packaged .mar; the ratio is on / off.
Writes benchmarks/results/serve_latency[_<service>].json.
"""

from __future__ import annotations

import argparse
import base64
import copy
import importlib
import json
import statistics
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from pipelines import registry
from pipelines.params import load_params
from pipelines.serving.package import package
from pipelines.serving.server import Server, on_free_ports
from services.base import BaseHandler
from services.mock_context import MockContext

TEXTS = ["3 May 1979", "tuesday 5 april 2016", "03.05.79", "5/3/1979", "MAY 3 1979", "the 21st of june, 2001",
         "2016-04-05", "samedi 27 février 1971", "Sep 25 1962", "12th of october, 1987"]


def example_requests(service: str, params: dict) -> list[tuple[object, str]]:
    """(body, content type) pairs a client of ``service`` sends; a dict body goes as JSON."""
    if service == "translation":
        return [({"text": t}, "application/json") for t in TEXTS]
    if service == "detection":
        images = sorted((Path(params["data_detection"]["out"]) / "images" / "test").glob("*.jpg"))[:32]
        if not images:
            raise SystemExit("no test images: run `dlzoo data detection` (or dvc repro) first")
        return [(p.read_bytes(), "image/jpeg") for p in images]
    if service == "face":
        from pipelines.data.identity_folders import load_identity_folders

        people = load_identity_folders(Path(params["data_face"]["out"]) / "test")
        if not people:
            raise SystemExit("no test faces: run `dlzoo data face` (or dvc repro) first")
        photos = [photo for folder in list(people.values())[:16] for photo in folder[1:3]]
        # the synthetic test faces are centred crops: as_is (benchmarks/face_photo_latency.py times real photos)
        return [({"op": "identify", "image": base64.b64encode(p.read_bytes()).decode(), "face": "as_is"},
                 "application/json") for p in photos]
    if service == "trigger_word":
        clips = sorted((Path(params["data_trigger_word"]["out"]) / "test").glob("*.wav"))[:16]
        if not clips:
            raise SystemExit("no test clips: run `dlzoo data trigger_word` (or dvc repro) first")
        return [(p.read_bytes(), "audio/wav") for p in clips]
    raise SystemExit(f"no example requests for service {service!r}")


def audio_seconds(examples: list) -> float:
    """Mean duration of WAV request bodies (for the real-time factor)."""
    from pipelines.data.audio import decode_wav

    return statistics.fmean(len(s) / r for s, r in (decode_wav(body) for body, _ in examples))


def handler_class(service: str) -> type[BaseHandler]:
    module = importlib.import_module(f"services.{service}")
    return next(obj for obj in vars(module).values() if isinstance(obj, type) and issubclass(obj, BaseHandler)
                and getattr(obj, "service", None) == service)


def post(session, url: str, headers: dict, body, content_type: str, timeout: float = 60):
    if isinstance(body, dict):
        return session.post(url, json=body, headers=headers, timeout=timeout)
    return session.post(url, data=body, headers={**headers, "Content-Type": content_type}, timeout=timeout)


def percentiles(samples: list[float]) -> dict:
    qs = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50_ms": 1000 * qs[49], "p99_ms": 1000 * qs[98], "mean_ms": 1000 * statistics.fmean(samples)}


def direct_latency(service: str, mar: Path, examples: list, n: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        zipfile.ZipFile(mar).extractall(tmp)
        handler = handler_class(service)()
        handler.initialize(MockContext(tmp))
        times = []
        for i in range(n):
            body, ctype = examples[i % len(examples)]
            ctx = MockContext(tmp, [{"Content-Type": ctype}])
            t0 = time.perf_counter()
            handler.handle([{"body": body}], ctx)
            times.append(time.perf_counter() - t0)
    return percentiles(times)


def start(params: dict, store: Path, run_dir: Path) -> Server:
    server = on_free_ports(params, store, run_dir)
    server.start()
    return server


def http_latency(server: Server, service: str, examples: list, n: int) -> dict:
    url, headers = f"{server.inference_url}/predictions/{service}", server.auth()
    session = requests.Session()
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        r = post(session, url, headers, *examples[i % len(examples)])
        times.append(time.perf_counter() - t0)
        r.raise_for_status()
    return percentiles(times)


def throughput(server: Server, service: str, examples: list, n: int, concurrency: int) -> dict:
    url, headers = f"{server.inference_url}/predictions/{service}", server.auth()

    def one(i: int) -> int:
        return post(requests, url, headers, *examples[i % len(examples)]).status_code

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(concurrency)))  # warm-up
        t0 = time.perf_counter()
        codes = list(pool.map(one, range(n)))
        elapsed = time.perf_counter() - t0
    return {"requests_per_second": n / elapsed, "ok": codes.count(200), "requests": n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", default="translation", choices=sorted(registry.services()))
    parser.add_argument("--model-file", default=None, help="trained model (default: artifacts/<model>/model.pt)")
    parser.add_argument("--requests", type=int, default=300, help="requests per measurement")
    parser.add_argument("--concurrency", type=int, default=16, help="parallel clients for throughput")
    parser.add_argument("--out", default=None, help="JSON result file (default: benchmarks/results/...)")
    args = parser.parse_args()
    params = load_params("params.yaml")
    service = args.service
    model_file = Path(args.model_file or f"artifacts/{registry.services()[service].name}/model.pt")
    out = Path(args.out or "benchmarks/results/serve_latency"
               f"{'' if service == 'translation' else '_' + service}.json")
    examples = example_requests(service, params)
    result: dict = {"service": service, "requests": args.requests, "concurrency": args.concurrency}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for mode, batch in (("batching_on", params["serve"]["services"][service]["batch_size"]),
                            ("batching_off", 1)):
            p = copy.deepcopy(params)
            p["serve"]["services"][service]["batch_size"] = batch
            mar = package(service, p, model_file, tmp / mode)
            server = start(p, tmp / mode, tmp / f"run-{mode}")
            try:
                if mode == "batching_on":
                    result["direct"] = direct_latency(service, mar, examples, args.requests)
                    result["http"] = http_latency(server, service, examples, args.requests)
                result[mode] = {"batch_size": batch,
                                **throughput(server, service, examples, args.requests, args.concurrency)}
            finally:
                server.stop()
    result["overhead_ms"] = {k: result["http"][k] - result["direct"][k] for k in ("p50_ms", "p99_ms")}
    if service == "trigger_word":  # processing seconds per audio second, one worker thread (serve threads: 1)
        seconds = audio_seconds(examples)
        result["real_time_factor"] = {k: result[k]["p50_ms"] / 1000 / seconds for k in ("direct", "http")}
    result["batching_throughput_ratio"] = (result["batching_on"]["requests_per_second"]
                                           / result["batching_off"]["requests_per_second"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
