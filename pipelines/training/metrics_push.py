"""Per-epoch training metrics to a Prometheus Pushgateway (``DLZOO_PUSHGATEWAY=host:9091``)."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

log = logging.getLogger(__name__)


def push_epoch_metrics(gateway: str, model: str, metrics: dict) -> None:
    """Push every numeric metric as gauge ``dlzoo_train_<name>{model=...}``; never fails training."""
    registry = CollectorRegistry()
    for key, value in metrics.items():
        if isinstance(value, (int, float)):
            Gauge(f"dlzoo_train_{key}", f"training metric {key}", ["model"], registry=registry) \
                .labels(model=model).set(float(value))
    try:
        push_to_gateway(gateway, job="dlzoo_train", grouping_key={"model": model}, registry=registry,
                        timeout=5)
    except OSError as err:  # an unreachable gateway must not kill a training run
        log.warning("could not push metrics to the Pushgateway at %s: %s", gateway, err)
