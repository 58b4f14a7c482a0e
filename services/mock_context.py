"""A stand-in for TorchServe's ``Context`` to run a handler without a server (unit tests, benchmarks)."""

from __future__ import annotations

from pathlib import Path


class MockContext:
    """The parts of ``ts.context.Context`` dlzoo's handlers use."""

    def __init__(self, model_dir: str | Path, headers: list[dict] | None = None):
        self.system_properties = {"model_dir": str(model_dir)}
        self.headers = headers or []
        self.statuses: dict[int, tuple[int, str]] = {}
        self.metrics = None

    def get_all_request_header(self, idx: int) -> dict:
        return self.headers[idx] if idx < len(self.headers) else {}

    def set_response_status(self, code: int = 200, phrase: str = "", idx: int = 0) -> None:
        self.statuses[idx] = (code, phrase)
