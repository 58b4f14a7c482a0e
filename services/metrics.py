"""Request metrics that TorchServe cannot give: latency *histograms* (p50/p95/p99) and status counts.

Two views of a request's time:

* ``dlzoo_request_latency_seconds{service}`` and ``dlzoo_requests_total{service,status}``: what the
  client sees, from request received to answer sent, for **every** answer, including the ones
  TorchServe's frontend gives without a handler (a worker that died, a full queue, a timeout, a bad
  token). The exporter (``services.exporter``) reads them from TorchServe's access log
  (``services.access_log``).
* ``dlzoo_handler_latency_seconds{service}``: the handler's own time for a request's batch, observed
  by the handlers (``services.base``); the gap to the first is queueing, batching and transport.

Handlers run in several TorchServe worker processes, so prometheus-client runs in multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, set by ``dlzoo serve start``); the exporter serves the sum. Without
that variable (unit tests) the metrics live in the process's default registry.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# Buckets from 1 ms to 60 s: the span between a cached date and a queue of long audio clips.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75,
                   1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

REQUEST_LATENCY = Histogram(
    "dlzoo_request_latency_seconds", "Client-side latency of one request (received -> answer sent), by service",
    ["service"], buckets=LATENCY_BUCKETS)
REQUESTS = Counter("dlzoo_requests", "Answers by service and HTTP status, whoever gave them", ["service", "status"])
HANDLER_LATENCY = Histogram(
    "dlzoo_handler_latency_seconds", "Handler time of one request (its batch's time), by service",
    ["service"], buckets=LATENCY_BUCKETS)


def observe_request(service: str, status: int, seconds: float) -> None:
    """One answer as the client saw it (the exporter calls this per access-log line)."""
    REQUEST_LATENCY.labels(service=service).observe(seconds)
    REQUESTS.labels(service=service, status=str(status)).inc()


def observe_handler(service: str, seconds: float) -> None:
    HANDLER_LATENCY.labels(service=service).observe(seconds)


# Detection: how many objects an image holds and of which class (drift shows here before in accuracy).
DETECTIONS_PER_IMAGE = Histogram(
    "dlzoo_detections_per_image", "Detections returned for one image", ["service"],
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 100, 300))
DETECTIONS = Counter("dlzoo_detections", "Detections returned, by class", ["service", "label"])


def observe_detections(service: str, labels: list[str]) -> None:
    DETECTIONS_PER_IMAGE.labels(service=service).observe(len(labels))
    for label in labels:
        DETECTIONS.labels(service=service, label=label).inc()
