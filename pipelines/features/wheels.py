"""Model files read out of pinned PyPI wheels, without importing the packages that ship them.

    from pipelines.features.wheels import WheelFile
    MEL = WheelFile("openwakeword", "0.5.1", "openwakeword/resources/models/melspectrogram.onnx", "ba2b0e0f...")
    path = MEL.path()            # checked: installed, the pinned version, the recorded sha256

The wheels (pyproject.toml ``[tool.dlzoo.model-wheels]``) are installed with ``pip install --no-deps``: their
Python code pulls in PyAudio, tflite-runtime, scipy, ... which the project never needs, so it is never
imported. ``importlib.metadata`` finds the file through the distribution's metadata alone. The sha256 is
recorded next to the code that runs the file, so a re-published wheel or an edited file fails loudly here
instead of silently changing every feature computed downstream.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from dataclasses import dataclass
from functools import cache
from pathlib import Path


class ModelWheelError(RuntimeError):
    """A pinned model wheel is missing, has another version, or its file is not the one recorded."""


def install_command(package: str, version: str) -> str:
    return f"pip install --no-deps {package}=={version}"


@cache
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """sha256 of a file, cached per (path, size, mtime) so a process hashes each model once (~0.2 s for 88 MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    st = path.stat()
    return _sha256(str(path), st.st_size, st.st_mtime_ns)


@dataclass(frozen=True)
class WheelFile:
    """One file inside an installed wheel: ``package`` (PyPI name) pinned at ``version``, ``relpath`` inside
    site-packages as the wheel's RECORD lists it, and the ``sha256`` recorded for it."""

    package: str
    version: str
    relpath: str
    sha256: str

    def _fail(self, what: str) -> ModelWheelError:
        return ModelWheelError(f"{self.package}=={self.version} (model file {self.relpath}): {what}; install the "
                               f"pinned wheel with: {install_command(self.package, self.version)}  "
                               f"(or bash scripts/setup.sh)")

    def path(self) -> Path:
        """The checked path of the file; :class:`ModelWheelError` with the install command otherwise."""
        try:
            dist = importlib.metadata.distribution(self.package)
        except importlib.metadata.PackageNotFoundError:
            raise self._fail("not installed") from None
        if dist.version != self.version:
            raise self._fail(f"version {dist.version} is installed, {self.version} is pinned")
        path = Path(dist.locate_file(self.relpath))
        if not path.is_file():
            raise self._fail(f"the file is missing from the installed package (looked for {path})")
        digest = file_sha256(path)
        if digest != self.sha256:
            raise self._fail(f"sha256 {digest} of {path} differs from the recorded {self.sha256}")
        return path


def onnx_session(path: Path, threads: int = 1):
    """A CPU onnxruntime session on ``threads`` intra-op threads (one inter-op thread, sequential execution).

    One thread (the default) is what the tests check to be bit-for-bit repeatable; two threads gave the same
    bits here, but onnxruntime does not promise it once work is split across threads."""
    import onnxruntime as ort  # imported here: data workers that never embed start without it

    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only: a shape error is raised as an exception anyway
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
