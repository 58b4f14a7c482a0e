"""The one TorchServe base handler: input validation, JSON errors, metrics and timing.

A service subclasses :class:`BaseHandler` and overrides only ``parse`` (one request body -> a valid
item, or :class:`ClientError`) and ``predict`` (a batch of items -> one JSON-able answer each, or a
:class:`ClientError` for an item that turns out wrong only while predicting, e.g. an unknown name).
Everything else lives here:

* a client's mistake answers ``4xx {"error": "..."}`` for that request alone; the rest of the batch
  and the worker go on;
* an unexpected failure answers ``500 {"error": ...}`` for the affected requests and is logged;
* every request is counted by status and timed into the ``dlzoo_request_latency_seconds``
  histogram (prometheus-client, multiprocess mode; served by ``services.exporter``), and TorchServe's
  own custom metrics get a per-status counter.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from services import metrics as request_metrics

log = logging.getLogger(__name__)


class ClientError(Exception):
    """The client's mistake: answered as ``status {"error": message}``."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message, self.status = message, status


def header(context, idx: int, name: str) -> str:
    """A request header, case-insensitively ('' when absent or when running without TorchServe)."""
    try:
        headers = context.get_all_request_header(idx) or {}
    except (AttributeError, IndexError, KeyError, TypeError):
        return ""
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value.decode() if isinstance(value, (bytes, bytearray)) else str(value)
    return ""


def request_body(row: Any) -> Any:
    """The body TorchServe hands over: bytes, str (text/*), or an already-decoded JSON value."""
    if isinstance(row, dict):
        for key in ("body", "data"):
            if key in row:
                return row[key]
    return row


def json_object(body: Any) -> dict:
    """``body`` as a JSON object, or ClientError naming what is wrong with it."""
    if isinstance(body, (bytes, bytearray)):
        try:
            body = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError as err:
            raise ClientError("request body is not valid UTF-8") from err
        except json.JSONDecodeError as err:
            raise ClientError(f"request body is not valid JSON: {err.msg} at position {err.pos}") from err
    if not isinstance(body, dict):
        raise ClientError(f"expected a JSON object, got {type(body).__name__}")
    return body


def is_json_body(body: Any, content_type: str) -> bool:
    """Whether a body is meant as JSON: already decoded by TorchServe, labelled JSON, or bytes opening an object."""
    return isinstance(body, (dict, list)) or "json" in content_type.lower() or (
        isinstance(body, (bytes, bytearray)) and body[:1] == b"{")


class BaseHandler:
    """TorchServe entry point shared by every dlzoo service (``initialize`` + ``handle``)."""

    service = "base"

    def __init__(self):
        self.initialized = False
        self.context = None
        self.config: dict = {}

    # -- lifecycle ------------------------------------------------------------------------------
    def initialize(self, context) -> None:
        import torch

        self.context = context
        model_dir = Path(context.system_properties.get("model_dir", "."))
        config_path = model_dir / "service.json"
        self.config = json.loads(config_path.read_text()) if config_path.is_file() else {}
        torch.set_num_threads(int(self.config.get("threads", 1)))
        self.load(model_dir)
        self.initialized = True
        log.info("dlzoo %s handler ready (model dir %s)", self.service, model_dir)

    def load(self, model_dir: Path) -> None:
        """Load the model from ``model_dir`` (overridden by services that need more than model.pt)."""
        from pipelines.training.artifacts import load_model

        self.model, self.bundle = load_model(model_dir / "model.pt")

    # -- per service ----------------------------------------------------------------------------
    def parse(self, body: Any, content_type: str) -> Any:
        raise NotImplementedError

    def predict(self, items: list[Any]) -> list[dict]:
        raise NotImplementedError

    # -- the request path -------------------------------------------------------------------------
    def handle(self, data: list, context) -> list[str]:
        start = time.perf_counter()
        answers: list[dict | None] = [None] * len(data)
        statuses = [200] * len(data)
        valid: list[tuple[int, Any]] = []
        for idx, row in enumerate(data):
            try:
                valid.append((idx, self.parse(request_body(row), header(context, idx, "content-type"))))
            except ClientError as err:
                answers[idx], statuses[idx] = {"error": err.message}, err.status
        if valid:
            try:
                outputs = self.predict([item for _, item in valid])
                for (idx, _), out in zip(valid, outputs, strict=True):
                    if isinstance(out, ClientError):  # one item's own 4xx, found while predicting
                        answers[idx], statuses[idx] = {"error": out.message}, out.status
                    else:
                        answers[idx] = out
            except ClientError as err:  # a batch-level client error (rare): applies to all valid items
                for idx, _ in valid:
                    answers[idx], statuses[idx] = {"error": err.message}, err.status
            except Exception:  # noqa: BLE001 — answer 500 JSON, keep the worker alive
                log.exception("dlzoo %s: prediction failed", self.service)
                for idx, _ in valid:
                    answers[idx], statuses[idx] = {"error": "internal error while predicting"}, 500
        elapsed = time.perf_counter() - start
        for idx, status in enumerate(statuses):
            if hasattr(context, "set_response_content_type"):
                context.set_response_content_type(idx, "application/json")
            if status != 200 and hasattr(context, "set_response_status"):
                context.set_response_status(status, answers[idx]["error"][:200], idx=idx)
            self.record(context, status, elapsed)
        return [json.dumps(answer, ensure_ascii=False) for answer in answers]

    def record(self, context, status: int, seconds: float) -> None:
        request_metrics.observe(self.service, status, seconds)
        self.ts_counters({f"DlzooRequests{status // 100}XX": 1}, context)

    def ts_counters(self, counters: dict[str, float], context=None) -> None:
        """Add to TorchServe custom counters (``name: amount``); a metrics failure never fails a request."""
        ts_metrics = getattr(context or self.context, "metrics", None)
        if ts_metrics is None:
            return
        try:
            for name, value in counters.items():
                ts_metrics.add_counter(name, value, dimensions=[])
        except Exception:  # noqa: BLE001 — metrics never fail a request
            log.debug("TorchServe metric not recorded", exc_info=True)
