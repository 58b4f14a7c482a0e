"""Serve dlzoo's request metrics over HTTP (started by ``dlzoo serve start``).

    PROMETHEUS_MULTIPROC_DIR=.serve/prometheus python -m services.exporter --port 8083 \
        --access-log .serve/logs/access_log.log --services translation,face

Two sources, one endpoint: the handlers' multiprocess prometheus-client files (handler latency,
detections, audio seconds, ...) and TorchServe's access log, followed here, which gives every
answer's status and client-side latency (``services.metrics``).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading

from prometheus_client import CollectorRegistry, multiprocess, start_http_server

from services import metrics
from services.access_log import AccessLogFollower

log = logging.getLogger(__name__)


def follow(path: str, services: set[str], stop: threading.Event, interval_s: float = 0.2) -> None:
    """Turn every new access-log line into the request metrics until ``stop`` is set."""
    follower = AccessLogFollower(path, services)
    while not stop.is_set():
        try:
            for service, status, seconds in follower.poll():
                metrics.observe_request(service, status, seconds)
        except OSError:  # a rotation mid-read: the next poll reopens the file
            log.warning("access log %s: read failed, retrying", path, exc_info=True)
            follower.close()
        stop.wait(interval_s)
    follower.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8083, help="port to listen on")
    parser.add_argument("--address", default="127.0.0.1", help="address to bind (loopback by default)")
    parser.add_argument("--access-log", help="TorchServe's access_log.log to follow for request metrics")
    parser.add_argument("--services", default="", help="comma-separated served models (other paths: 'other')")
    args = parser.parse_args()
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        parser.error("PROMETHEUS_MULTIPROC_DIR must name the handlers' metrics directory")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    server, _ = start_http_server(args.port, addr=args.address, registry=registry)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.access_log:
        services = {s for s in args.services.split(",") if s}
        follow(args.access_log, services, stop)  # returns when stopped
    stop.wait()
    server.shutdown()


if __name__ == "__main__":
    main()
