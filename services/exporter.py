"""Serve the handlers' multiprocess prometheus-client metrics over HTTP (started by ``dlzoo serve start``).

    PROMETHEUS_MULTIPROC_DIR=.serve/prometheus python -m services.exporter --port 8083
"""

from __future__ import annotations

import argparse
import os
import signal
import threading

from prometheus_client import CollectorRegistry, multiprocess, start_http_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8083, help="port to listen on")
    parser.add_argument("--address", default="127.0.0.1", help="address to bind (loopback by default)")
    args = parser.parse_args()
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        parser.error("PROMETHEUS_MULTIPROC_DIR must name the handlers' metrics directory")
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    server, thread = start_http_server(args.port, addr=args.address, registry=registry)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.shutdown()


if __name__ == "__main__":
    main()
