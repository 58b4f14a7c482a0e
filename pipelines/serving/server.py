"""TorchServe lifecycle for ``dlzoo serve start|stop|status|token``.

``start`` renders ``deploy/torchserve/config.properties`` with the configured ports into the run
dir, starts the latency-histogram exporter (``services.exporter``) and TorchServe with every
packaged service, waits until each model has a ready worker, and prints the endpoints.
Everything lives in the run dir (default ``.serve``): the key file, the logs, the pid files and a
private TMPDIR, so several servers (a test's, a user's) never see each other's pid file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from pipelines import registry

KEY_FILE = "key_file.json"
STATE_FILE = "server.json"


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (tests and benchmarks start servers side by side)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tool(name: str) -> str:
    """An executable from PATH, else from this interpreter's bin dir (a venv used without activation)."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise RuntimeError(f"{name} is not installed (see the README's set-up command)")
    return found


@dataclass
class Server:
    config_template: Path
    store: Path
    run_dir: Path
    inference_port: int
    management_port: int
    metrics_port: int
    exporter_port: int
    worker_port: int = 9000
    start_timeout_s: float = 180.0
    face_gallery: Path | None = None  # the face service's SQLite gallery; default <run_dir>/face_gallery.sqlite

    @classmethod
    def from_params(cls, params: dict, **overrides) -> Server:
        serve = dict(params["serve"])
        run_dir = Path(overrides.get("run_dir") or serve["run_dir"])
        if (run_dir / STATE_FILE).is_file():  # a running server's ports, as `serve start` chose them
            serve.update(json.loads((run_dir / STATE_FILE).read_text()))
        serve.update({k: v for k, v in overrides.items() if v is not None})
        run_dir = Path(serve["run_dir"]).resolve()
        gallery = serve.get("services", {}).get("face", {}).get("gallery") or "face_gallery.sqlite"
        return cls(Path(serve["config"]), Path(serve["store"]), run_dir,
                   int(serve["inference_port"]), int(serve["management_port"]), int(serve["metrics_port"]),
                   int(serve["exporter_port"]), int(serve.get("worker_port", 9000)),
                   float(serve.get("start_timeout_s", 180)), run_dir / gallery)

    # -- paths and environment ----------------------------------------------------------------
    @property
    def inference_url(self) -> str:
        return f"http://127.0.0.1:{self.inference_port}"

    @property
    def management_url(self) -> str:
        return f"http://127.0.0.1:{self.management_port}"

    def env(self) -> dict:
        env = dict(os.environ)
        env.update({
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "TMPDIR": str(self.run_dir / "tmp"),  # TorchServe's pid file lives in TMPDIR
            "LOG_LOCATION": str(self.run_dir / "logs"),
            "METRICS_LOCATION": str(self.run_dir / "logs"),
            "PROMETHEUS_MULTIPROC_DIR": str(self.run_dir / "prometheus"),
            # Every worker of the face service shares this gallery; it outlives serve stop/start.
            "DLZOO_FACE_GALLERY": str(self.face_gallery or self.run_dir / "face_gallery.sqlite"),
        })
        return env

    def render_config(self) -> Path:
        text = self.config_template.read_text()
        for key, port in (("inference_address", self.inference_port),
                          ("management_address", self.management_port),
                          ("metrics_address", self.metrics_port)):
            text, n = re.subn(rf"^({key}=https?://[^:\s]+:)\d+", rf"\g<1>{port}", text, flags=re.M)
            if n != 1:
                raise RuntimeError(f"{self.config_template}: expected one `{key}=http://HOST:PORT` line")
        # Backend workers listen on /tmp/.ts.sock.<port>: a distinct first port keeps servers apart.
        text += f"\ninitial_worker_port={self.worker_port}\n"
        path = self.run_dir / "config.properties"
        path.write_text(text)
        return path

    def packaged(self) -> dict[str, Path]:
        return {name: self.store / f"{name}.mar" for name in sorted(registry.services())
                if (self.store / f"{name}.mar").is_file()}

    # -- keys -------------------------------------------------------------------------------------
    def keys(self) -> dict:
        path = self.run_dir / KEY_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist: is TorchServe running (dlzoo serve start)?")
        return json.loads(path.read_text())

    def token(self, kind: str = "inference") -> str:
        """The current key; an expired inference/management key is rotated with the API key first."""
        keys = self.keys()
        expires = keys.get(kind, {}).get("expiration time", "")
        if _expired(expires):
            api_key = keys["API"]["key"]
            requests.post(f"{self.management_url}/token", params={"type": kind},
                          headers={"Authorization": f"Bearer {api_key}"}, timeout=10).raise_for_status()
            keys = self.keys()
        return keys[kind]["key"]

    def auth(self, kind: str = "inference") -> dict:
        return {"Authorization": f"Bearer {self.token(kind)}"}

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        mars = self.packaged()
        if not mars:
            raise FileNotFoundError(f"no packaged service in {self.store}: run `dvc repro` or `dlzoo package`")
        if shutil.which("java") is None:
            raise RuntimeError("TorchServe needs a Java runtime (see the README's set-up command)")
        if self.status()["healthy"]:
            raise RuntimeError(f"a TorchServe already answers on {self.inference_url}: `dlzoo serve stop` first")
        for sub in ("tmp", "logs"):
            (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
        prom = self.run_dir / "prometheus"
        shutil.rmtree(prom, ignore_errors=True)  # stale multiprocess files would double-count
        prom.mkdir()
        (self.run_dir / KEY_FILE).unlink(missing_ok=True)
        config = self.render_config()
        (self.run_dir / STATE_FILE).write_text(json.dumps({
            "store": str(self.store.resolve()), "inference_port": self.inference_port,
            "management_port": self.management_port, "metrics_port": self.metrics_port,
            "exporter_port": self.exporter_port, "worker_port": self.worker_port}))
        exporter = subprocess.Popen(
            [sys.executable, "-m", "services.exporter", "--port", str(self.exporter_port)],
            env=self.env(), stdout=(self.run_dir / "logs" / "exporter.log").open("ab"),
            stderr=subprocess.STDOUT, start_new_session=True)
        (self.run_dir / "exporter.pid").write_text(str(exporter.pid))
        cmd = [tool("torchserve"), "--start", "--ncs", "--model-store", str(self.store.resolve()),
               "--ts-config", str(config), "--models", *[f"{n}={p.name}" for n, p in mars.items()]]
        # TorchServe's Java process inherits stdout: a pipe would never close, so log to a file.
        out_log = self.run_dir / "logs" / "torchserve-start.log"
        with out_log.open("ab") as out:
            proc = subprocess.run(cmd, cwd=self.run_dir, env=self.env(), stdout=out, stderr=subprocess.STDOUT)
        if proc.returncode != 0:
            self.stop()
            raise RuntimeError(f"torchserve --start failed; see {out_log}")
        self.wait_ready(list(mars))

    def wait_ready(self, models: list[str]) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        pending = set(models)
        while time.monotonic() < deadline:
            try:
                headers = self.auth("management")
                for name in sorted(pending):
                    r = requests.get(f"{self.management_url}/models/{name}", headers=headers, timeout=5)
                    if r.ok and any(w.get("status") == "READY" for w in r.json()[0].get("workers", [])):
                        pending.discard(name)
                if not pending:
                    return
            except (requests.RequestException, FileNotFoundError, KeyError, ValueError):
                pass
            time.sleep(1.0)
        log_file = self.run_dir / "logs" / "model_log.log"
        tail = log_file.read_text()[-3000:] if log_file.is_file() else "(no model log)"
        raise RuntimeError(f"models {sorted(pending)} not ready after {self.start_timeout_s:.0f}s; "
                           f"model log tail:\n{tail}")

    def stop(self) -> str:
        messages = []
        if (self.run_dir / "tmp").is_dir():
            proc = subprocess.run([tool("torchserve"), "--stop"], env=self.env(), capture_output=True,
                                  text=True, timeout=120)
            messages.append((proc.stdout + proc.stderr).strip() or "torchserve stopped")
        pid_file = self.run_dir / "exporter.pid"
        if pid_file.is_file():
            pid = int(pid_file.read_text())
            try:
                os.killpg(pid, signal.SIGTERM)
                _wait_gone(pid)  # a `serve start` right after must find the exporter's port free
                messages.append("metrics exporter stopped")
            except ProcessLookupError:
                pass
            pid_file.unlink()
        (self.run_dir / STATE_FILE).unlink(missing_ok=True)
        return "\n".join(messages) or "nothing was running"

    def status(self) -> dict:
        status = {"inference": self.inference_url, "healthy": False, "models": []}
        try:
            r = requests.get(f"{self.inference_url}/ping", headers=self.auth(), timeout=3)
            status["healthy"] = r.ok and r.json().get("status") == "Healthy"
            r = requests.get(f"{self.management_url}/models", headers=self.auth("management"), timeout=3)
            if r.ok:
                status["models"] = [m["modelName"] for m in r.json().get("models", [])]
        except (requests.RequestException, FileNotFoundError, KeyError, ValueError):
            pass
        return status

    def describe(self) -> str:
        key_file = self.run_dir / KEY_FILE
        lines = [
            f"TorchServe is up (token auth on, 127.0.0.1): {', '.join(self.packaged())}",
            f"  inference   {self.inference_url}/predictions/<service>",
            f"  management  {self.management_url}  (model registration disabled)",
            f"  metrics     http://127.0.0.1:{self.metrics_port}/metrics  (TorchServe)",
            f"  histograms  http://127.0.0.1:{self.exporter_port}/metrics  (dlzoo request latency)",
            f"  key file    {key_file}   (`dlzoo serve token` prints the inference key)",
            "example:",
        ]
        # Copy-pasteable from any shell: the token command names this project and its venv's dlzoo.
        token_cmd = (f"cd {Path.cwd()} && {Path(sys.executable).parent / 'dlzoo'} serve token"
                     f" --run-dir {self.run_dir}")
        if "translation" in self.packaged():
            lines.append(f"  curl -s -H \"Authorization: Bearer $({token_cmd})\" -H 'Content-Type: "
                         f"application/json' -d '{{\"text\": \"3 May 1979\"}}' "
                         f"{self.inference_url}/predictions/translation")
        return "\n".join(lines)


def _expired(stamp: str) -> bool:
    """TorchServe writes expiry as e.g. '2026-11-28T04:12:37.123Z'; unparseable -> not expired."""
    from datetime import datetime, timezone

    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when <= datetime.now(timezone.utc)


def _wait_gone(pid: int, timeout: float = 10.0) -> None:
    """Wait until process group ``pid`` has exited (reaped or not), then SIGKILL whatever is left."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)  # reap it when it is our child (a zombie would look alive)
        except ChildProcessError:
            pass
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.killpg(pid, signal.SIGKILL)
