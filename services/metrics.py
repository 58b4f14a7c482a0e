"""Request metrics that TorchServe cannot give: a latency *histogram* (p50/p95/p99) and status counts.

Handlers run in several TorchServe worker processes, so prometheus-client runs in multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, set by ``dlzoo serve start``); ``services.exporter`` serves the sum.
Without that variable (unit tests) the metrics live in the process's default registry.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# Buckets from 1 ms to 10 s: the span between a cached date and a large image batch.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75,
                   1.0, 2.5, 5.0, 10.0)

REQUEST_LATENCY = Histogram(
    "dlzoo_request_latency_seconds", "Handler time of one request (its batch's time), by service",
    ["service"], buckets=LATENCY_BUCKETS)
REQUESTS = Counter("dlzoo_requests", "Requests by service and HTTP status", ["service", "status"])


def observe(service: str, status: int, seconds: float) -> None:
    REQUEST_LATENCY.labels(service=service).observe(seconds)
    REQUESTS.labels(service=service, status=str(status)).inc()


# Detection: how many objects an image holds and of which class (drift shows here before in accuracy).
DETECTIONS_PER_IMAGE = Histogram(
    "dlzoo_detections_per_image", "Detections returned for one image", ["service"],
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 100, 300))
DETECTIONS = Counter("dlzoo_detections", "Detections returned, by class", ["service", "label"])


def observe_detections(service: str, labels: list[str]) -> None:
    DETECTIONS_PER_IMAGE.labels(service=service).observe(len(labels))
    for label in labels:
        DETECTIONS.labels(service=service, label=label).inc()
