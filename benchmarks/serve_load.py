"""Load and faults on the packaged services, through a real TorchServe with token auth.

    python benchmarks/serve_load.py                       # every .mar in model-store: load, then faults
    python benchmarks/serve_load.py --seconds 60 --concurrency 32 --services translation,face
    python benchmarks/serve_load.py --no-faults

1. **Load**, per service: ``--concurrency`` clients (asyncio, one connection each) send the service's
   example requests back to back for ``--seconds``: requests per second, p50/p99 latency, errors (any
   answer but 200, or no answer).
2. **Worker kill** (``--fault-service``, default translation): the same load; after a third of the time
   one backend worker of that model is SIGKILLed (its pid from the management API). Reported: the
   requests that failed, the seconds until TorchServe reports a new READY worker, and until the first
   200 to a request sent after the kill.
3. **Restart**: faces are enrolled, TorchServe is stopped and started again; the gallery must list
   the same names and identify each enrolled face as before.

The client runs on the same machine as the server (2 cores here): figures are for a busy machine.
Writes benchmarks/results/serve_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_latency import example_requests  # noqa: E402  (the same requests the latency benchmark sends)

from pipelines.params import load_params  # noqa: E402
from pipelines.serving.server import Server, on_free_ports  # noqa: E402


async def _load(url: str, headers: dict, examples: list, seconds: float, concurrency: int,
                events: list | None = None) -> dict:
    """``concurrency`` clients for ``seconds``: latencies of the 200s, failures, and (with ``events``)
    every request's (sent, answered, ok) for the fault run."""
    latencies: list[float] = []
    failures: dict[str, int] = {}
    deadline = time.monotonic() + seconds
    timeout = aiohttp.ClientTimeout(total=60)

    async def client(i: int) -> None:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            n = i
            while time.monotonic() < deadline:
                body, content_type = examples[n % len(examples)]
                n += concurrency
                kwargs = {"json": body} if isinstance(body, dict) else \
                    {"data": body, "headers": {**headers, "Content-Type": content_type}}
                kwargs.setdefault("headers", headers)
                t0 = time.monotonic()
                try:
                    async with session.post(url, **kwargs) as r:
                        await r.read()
                        status = str(r.status)
                except (aiohttp.ClientError, asyncio.TimeoutError) as e:
                    status = type(e).__name__
                t1 = time.monotonic()
                if status == "200":
                    latencies.append(t1 - t0)
                else:
                    failures[status] = failures.get(status, 0) + 1
                if events is not None:
                    events.append((t0, t1, status == "200"))

    t_start = time.monotonic()
    await asyncio.gather(*(client(i) for i in range(concurrency)))
    elapsed = time.monotonic() - t_start
    qs = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else [float("nan")] * 99
    return {"seconds": round(elapsed, 1), "concurrency": concurrency, "ok": len(latencies),
            "errors": sum(failures.values()), "errors_by_status": failures,
            "requests_per_second": round(len(latencies) / elapsed, 1),
            "p50_ms": round(1000 * qs[49], 1), "p99_ms": round(1000 * qs[98], 1)}


def workers(server: Server, model: str) -> list[dict]:
    r = requests.get(f"{server.management_url}/models/{model}", headers=server.auth("management"), timeout=10)
    r.raise_for_status()
    return r.json()[0]["workers"]


def kill_worker(server: Server, model: str, examples: list, seconds: float, concurrency: int) -> dict:
    """Load for ``seconds``; SIGKILL a READY worker of ``model`` after a third of it; time the recovery."""
    url = f"{server.inference_url}/predictions/{model}"
    events: list = []
    killed: dict = {}

    async def run() -> dict:
        load = asyncio.create_task(_load(url, server.auth(), examples, seconds, concurrency, events))
        await asyncio.sleep(seconds / 3)
        victim = next(w for w in workers(server, model) if w["status"] == "READY")
        killed.update(pid=int(victim["pid"]), at=time.monotonic())
        os.kill(killed["pid"], signal.SIGKILL)
        while not any(w["status"] == "READY" and int(w["pid"]) != killed["pid"] for w in workers(server, model)):
            assert time.monotonic() - killed["at"] < 120, "no new worker READY within 120 s"
            await asyncio.sleep(0.05)
        killed["ready_after"] = time.monotonic() - killed["at"]
        return await load

    result = asyncio.run(run())
    after = [(sent, answered, ok) for sent, answered, ok in events if answered >= killed["at"]]
    # a request sent after the kill can only be answered by the new worker
    first_ok = min((answered for sent, answered, ok in after if ok and sent >= killed["at"]), default=None)
    return {"model": model, "killed_pid": killed["pid"], **result,
            "failed_after_kill": sum(not ok for _, _, ok in after),
            "new_worker_ready_after_s": round(killed["ready_after"], 2),
            "first_200_of_a_request_sent_after_kill_s": None if first_ok is None else round(first_ok - killed["at"], 2)}


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def face_post(server: Server, body: dict) -> dict:
    r = requests.post(f"{server.inference_url}/predictions/face", json=body, headers=server.auth(), timeout=60)
    r.raise_for_status()
    return r.json()


def enroll(server: Server, params: dict, n: int) -> list[tuple[str, list[Path]]]:
    """Enroll the first photo of ``n`` test identities (the load's identify requests then search a gallery)."""
    from pipelines.data.identity_folders import load_identity_folders

    people = list(load_identity_folders(Path(params["data_face"]["out"]) / "test").items())[:n]
    for name, photos in people:
        face_post(server, {"op": "enroll", "name": name, "image": b64(photos[0]), "face": "as_is"})
    return people


def restart_keeps_gallery(server: Server, params: dict, n: int = 16) -> dict:
    """Restart TorchServe with ``n`` enrolled faces: list and identify must answer the same after."""

    def post(body: dict) -> dict:
        return face_post(server, body)

    people = enroll(server, params, n)
    before = {name: post({"op": "identify", "image": b64(photos[1]), "face": "as_is"})["name"]
              for name, photos in people}
    listed_before = sorted(post({"op": "list"})["names"])
    t0 = time.monotonic()
    server.stop()
    server.start()
    restart_s = time.monotonic() - t0
    after = {name: post({"op": "identify", "image": b64(photos[1]), "face": "as_is"})["name"]
             for name, photos in people}
    listed_after = sorted(post({"op": "list"})["names"])
    return {"enrolled": len(people), "restart_seconds": round(restart_s, 1),
            "listed_same": listed_before == listed_after, "identify_same": before == after,
            "identified_correctly": sum(after[name] == name for name, _ in people)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=None, help="model store (default: serve.store in params.yaml)")
    parser.add_argument("--services", default=None, help="comma-separated (default: every packaged service)")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--fault-service", default="translation")
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--out", default="benchmarks/results/serve_load.json")
    args = parser.parse_args()
    params = load_params("params.yaml")
    store = Path(args.store or params["serve"]["store"])
    with tempfile.TemporaryDirectory() as run_dir:
        server = on_free_ports(params, store, run_dir)
        services = args.services.split(",") if args.services else sorted(server.packaged())
        missing = [s for s in services if s not in server.packaged()]
        if missing:
            raise SystemExit(f"not packaged in {store}: {', '.join(missing)} (run `dvc repro`)")
        result: dict = {"store": str(store), "load": {}}
        server.start()
        try:
            for service in services:
                url = f"{server.inference_url}/predictions/{service}"
                examples = example_requests(service, params)
                if service == "face":
                    enroll(server, params, 16)  # identify searches a gallery of 16 people
                asyncio.run(_load(url, server.auth(), examples, 5, args.concurrency))  # warm-up
                result["load"][service] = asyncio.run(
                    _load(url, server.auth(), examples, args.seconds, args.concurrency))
                print(service, json.dumps(result["load"][service]), flush=True)
            if not args.no_faults:
                if args.fault_service in server.packaged():
                    result["worker_kill"] = kill_worker(server, args.fault_service,
                                                        example_requests(args.fault_service, params),
                                                        args.seconds, args.concurrency)
                    print("worker_kill", json.dumps(result["worker_kill"]), flush=True)
                if "face" in server.packaged():
                    result["restart"] = restart_keeps_gallery(server, params)
                    print("restart", json.dumps(result["restart"]), flush=True)
        finally:
            server.stop()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
