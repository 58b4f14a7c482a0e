"""The one TorchServe base handler: input validation, JSON errors, metrics and timing.

A service subclasses :class:`BaseHandler` and overrides only ``parse`` (one request body -> a valid
item, or :class:`ClientError`) and ``predict`` (a batch of items -> one JSON-able answer each, or a
:class:`ClientError` for an item that turns out wrong only while predicting, e.g. an unknown name).
Everything else lives here, so that no client can hurt another:

* a client's mistake answers ``4xx {"error": "..."}`` for that request alone; the rest of the batch
  and the worker go on;
* every request is parsed on its own; an unexpected failure while predicting a batch is retried
  request by request, so only the request that causes it answers ``500 {"error": ...}`` (logged);
* the HTTP status line carries only the standard reason phrase (``Bad Request``): TorchServe 0.12
  frames that phrase by its length in characters but sends UTF-8 bytes, so client text there (a
  "José") would break the frame and kill the worker; the details go in the JSON body;
* a JSON body is parsed with limits (nesting depth, digits of an integer, no NaN/Infinity);
* each request's handler time goes to the ``dlzoo_handler_latency_seconds`` histogram (the
  client-side latency and the status counts come from TorchServe's access log: ``services.metrics``).
"""

from __future__ import annotations

import json
import logging
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any

from services import metrics as request_metrics

log = logging.getLogger(__name__)

MAX_JSON_DEPTH = 32      # every dlzoo body is an object of scalars or short lists: depth 2
MAX_INT_DIGITS = 100     # no field needs more; int() of 5,000 digits raises (and costs)


class ClientError(Exception):
    """The client's mistake: answered as ``status {"error": message, **fields}``."""

    def __init__(self, message: str, status: int = 400, **fields: Any):
        super().__init__(message)
        self.message, self.status, self.fields = message, status, fields

    def body(self) -> dict:
        return {"error": self.message, **self.fields}


def reason_phrase(status: int) -> str:
    """The standard, ASCII reason phrase of an HTTP status (never client text: see the module doc)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def header(context, idx: int, name: str) -> str:
    """A request header, case-insensitively ('' when absent or when running without TorchServe)."""
    try:
        headers = context.get_all_request_header(idx) or {}
    except (AttributeError, IndexError, KeyError, TypeError):
        return ""
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else str(value)
    return ""


def request_body(row: Any) -> Any:
    """The body TorchServe hands over: bytes, str (text/*), or an already-decoded JSON value."""
    if isinstance(row, dict):
        for key in ("body", "data"):
            if key in row:
                return row[key]
    return row


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise ClientError(f"request body holds an integer of {len(digits)} digits; the limit is {MAX_INT_DIGITS}")
    return int(digits)


def _no_constant(name: str) -> float:
    raise ClientError(f"request body is not valid JSON: {name} is not a JSON number")


def json_depth(value: Any) -> int:
    """Nesting depth of a decoded JSON value (a scalar: 0; ``{"a": [1]}``: 2), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest


def json_object(body: Any) -> dict:
    """``body`` as a JSON object, or ClientError naming what is wrong with it (within the limits above)."""
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")  # a lone surrogate then fails as "not valid UTF-8"
    if isinstance(body, (bytes, bytearray)):
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError as err:
            raise ClientError("request body is not valid UTF-8") from err
        try:
            body = json.loads(text, parse_int=_bounded_int, parse_constant=_no_constant)
        except json.JSONDecodeError as err:
            raise ClientError(f"request body is not valid JSON: {err.msg} at position {err.pos}") from err
        except RecursionError as err:
            raise ClientError(f"request body is nested too deep; the limit is {MAX_JSON_DEPTH} levels") from err
    if not isinstance(body, dict):
        raise ClientError(f"expected a JSON object, got {type(body).__name__}")
    if json_depth(body) > MAX_JSON_DEPTH:
        raise ClientError(f"request body is nested too deep; the limit is {MAX_JSON_DEPTH} levels")
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
        torch.set_num_threads(int(self.setting("threads")))
        self.load(model_dir)
        self.initialized = True
        log.info("dlzoo %s handler ready (model dir %s)", self.service, model_dir)

    def setting(self, key: str):
        """``service.json``'s ``key``, written by ``dlzoo package`` from ``serve.services.<service>`` (and the
        model's ``decode``): params.yaml is the one source of every limit, so no default here."""
        if key not in self.config:
            raise KeyError(f"service.json of {self.service} has no {key!r}: set serve.services.{self.service}."
                           f"{key} in params.yaml and repackage (dlzoo package {self.service})")
        return self.config[key]

    def task_class(self):
        """The model's task class, named by ``service.json`` (``dlzoo package`` writes it from the registry).

        The archive then carries its own model's code and not the registry of every model, so registering
        another model leaves every existing ``.mar`` (and its DVC stage) alone."""
        import importlib

        module, name = self.setting("task").split(":")
        return getattr(importlib.import_module(module), name)

    def load(self, model_dir: Path) -> None:
        """Load the model from ``model_dir``: model.pt rebuilt by the task that built it in training
        (overridden by services that need more than model.pt)."""
        import torch

        self.bundle = torch.load(model_dir / "model.pt", map_location="cpu", weights_only=False)
        self.model = self.task_class().build_model(self.bundle["config"])
        self.model.load_state_dict(self.bundle["state_dict"])
        self.model.eval()

    # -- per service ----------------------------------------------------------------------------
    def parse(self, body: Any, content_type: str) -> Any:
        raise NotImplementedError

    def predict(self, items: list[Any]) -> list[dict]:
        raise NotImplementedError

    # -- the request path -------------------------------------------------------------------------
    def handle(self, data: list, context) -> list[str]:
        start = time.perf_counter()
        answers: list[dict] = [{} for _ in data]
        statuses = [200] * len(data)

        def fail(idx: int, err: ClientError) -> None:
            answers[idx], statuses[idx] = err.body(), err.status

        valid: list[tuple[int, Any]] = []
        for idx, row in enumerate(data):
            try:
                valid.append((idx, self.parse(request_body(row), header(context, idx, "content-type"))))
            except ClientError as err:
                fail(idx, err)
            except Exception:  # noqa: BLE001 — a parse bug answers 500 for this request alone
                log.exception("dlzoo %s: reading request %d failed", self.service, idx)
                fail(idx, ClientError("internal error while reading the request", 500))
        if valid:
            for idx, out in self._predict_each(valid):
                if isinstance(out, ClientError):
                    fail(idx, out)
                else:
                    answers[idx] = out
        elapsed = time.perf_counter() - start
        for idx, status in enumerate(statuses):
            if hasattr(context, "set_response_content_type"):
                context.set_response_content_type(idx, "application/json")
            if status != 200 and hasattr(context, "set_response_status"):
                context.set_response_status(status, reason_phrase(status), idx=idx)
            request_metrics.observe_handler(self.service, elapsed)
        return [json.dumps(answer, ensure_ascii=False) for answer in answers]

    def _predict_each(self, valid: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
        """``(idx, answer or ClientError)`` per valid item: the batch in one call; when that call fails
        unexpectedly, each item alone, so one poisoned request cannot fail its batch-mates."""
        try:
            outputs = self.predict([item for _, item in valid])
            if len(outputs) != len(valid):
                raise RuntimeError(f"predict answered {len(outputs)} items for {len(valid)}")
            return [(idx, out) for (idx, _), out in zip(valid, outputs, strict=True)]
        except ClientError as err:  # a batch-level client error (rare): applies to all valid items
            return [(idx, err) for idx, _ in valid]
        except Exception:  # noqa: BLE001 — answer JSON, keep the worker alive
            if len(valid) == 1:
                log.exception("dlzoo %s: prediction failed", self.service)
                return [(valid[0][0], ClientError("internal error while predicting", 500))]
            log.warning("dlzoo %s: a batch of %d failed; predicting its requests one by one", self.service,
                        len(valid), exc_info=True)
            return [pair for item in valid for pair in self._predict_each([item])]

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
