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


PORT_KEYS = ("inference_port", "management_port", "metrics_port", "exporter_port", "grpc_inference_port",
             "grpc_management_port", "worker_port")


def free_ports(n: int) -> list[int]:
    """``n`` distinct free TCP ports on 127.0.0.1 (tests and benchmarks start servers side by side).

    Every socket stays bound until all ``n`` are chosen, so one call never returns a port twice; the
    ports come from below the kernel's ephemeral range, where the outgoing connections of other
    processes (a busy CI runner) cannot take them between this choice and the server's bind.
    """
    import random
    import socket

    low, _ = _ephemeral_range()
    candidates = list(range(20_000, max(low, 20_001)))
    random.SystemRandom().shuffle(candidates)
    held: list[socket.socket] = []
    try:
        for port in candidates:
            sock = socket.socket()
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                sock.close()
                continue
            held.append(sock)
            if len(held) == n:
                return [s.getsockname()[1] for s in held]
        raise RuntimeError(f"fewer than {n} free ports between 20000 and {low}")
    finally:
        for sock in held:
            sock.close()


def free_port() -> int:
    """One free TCP port on 127.0.0.1 (a server with several ports needs :func:`free_ports`)."""
    return free_ports(1)[0]


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32_768, 60_999  # Linux's default


def on_free_ports(params: dict, store: str | Path, run_dir: str | Path, **overrides) -> Server:
    """A (not yet started) server of ``params`` whose ports are all free and distinct: tests and
    benchmarks that run beside a user's server, or beside each other."""
    ports = dict(zip(PORT_KEYS, free_ports(len(PORT_KEYS)), strict=True))
    return Server.from_params(params, store=str(store), run_dir=str(run_dir), **{**ports, **overrides})


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
    grpc_inference_port: int = 7070
    grpc_management_port: int = 7071
    worker_port: int = 9000
    start_timeout_s: float = 180.0
    face_gallery: Path | None = None  # the face service's SQLite gallery; default <run_dir>/face_gallery.sqlite

    def __post_init__(self):
        ports = {key: int(getattr(self, key)) for key in PORT_KEYS}
        for key, port in ports.items():
            if not 1 <= port <= 65_535:
                raise ValueError(f"serve.{key} is {port}: a port is a number from 1 to 65535")
        seen: dict[int, str] = {}
        for key, port in ports.items():
            if port in seen:
                raise ValueError(f"serve.{seen[port]} and serve.{key} are both {port}: every port of a server "
                                 "must differ")
            seen[port] = key

    @classmethod
    def from_params(cls, params: dict, **overrides) -> Server:
        serve = dict(params["serve"])
        run_dir = Path(overrides.get("run_dir") or serve["run_dir"])
        if (run_dir / STATE_FILE).is_file():  # a running server's ports, as `serve start` chose them
            serve.update(json.loads((run_dir / STATE_FILE).read_text()))
        serve.update({k: v for k, v in overrides.items() if v is not None})
        run_dir = Path(serve["run_dir"]).resolve()
        gallery = serve.get("services", {}).get("face", {}).get("gallery") or "face_gallery.sqlite"
        defaults = {"grpc_inference_port": 7070, "grpc_management_port": 7071, "worker_port": 9000}
        ports = {key: int(serve.get(key, defaults.get(key, 0))) for key in PORT_KEYS}
        return cls(Path(serve["config"]), Path(serve["store"]), run_dir, **ports,
                   start_timeout_s=float(serve.get("start_timeout_s", 180)), face_gallery=run_dir / gallery)

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
            # The handlers parse every body themselves (with their depth and size limits), whatever its
            # content type: TorchServe's backend would otherwise json.loads application/json unbounded.
            "TS_DECODE_INPUT_REQUEST": "false",
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
        # gRPC is always on in TorchServe 0.12 (7070/7071 on every interface unless set): loopback, and
        # ports of this server's own, so two servers on one machine never collide.
        text += (f"\ngrpc_inference_address=127.0.0.1\ngrpc_inference_port={self.grpc_inference_port}\n"
                 f"grpc_management_address=127.0.0.1\ngrpc_management_port={self.grpc_management_port}\n")
        # Backend workers listen on /tmp/.ts.sock.<port>: a distinct first port keeps servers apart.
        text += f"initial_worker_port={self.worker_port}\n"
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
            "store": str(self.store.resolve()), **{key: getattr(self, key) for key in PORT_KEYS}}))
        logs = self.run_dir / "logs"
        exporter = subprocess.Popen(
            [sys.executable, "-m", "services.exporter", "--port", str(self.exporter_port),
             "--access-log", str(logs / "access_log.log"), "--services", ",".join(mars)],
            env=self.env(), stdout=(logs / "exporter.log").open("ab"),
            stderr=subprocess.STDOUT, start_new_session=True)
        (self.run_dir / "exporter.pid").write_text(str(exporter.pid))
        cmd = [tool("torchserve"), "--start", "--ncs", "--model-store", str(self.store.resolve()),
               "--ts-config", str(config), "--log-config", str(self.log_config()),
               "--models", *[f"{n}={p.name}" for n, p in mars.items()]]
        # TorchServe's Java process inherits stdout: a pipe would never close, so log to a file (the log
        # config keeps routine lines out of stdout, so this file holds only start-up and fatal output).
        out_log = logs / "torchserve-start.log"
        try:
            with out_log.open("ab") as out:
                proc = subprocess.run(cmd, cwd=self.run_dir, env=self.env(), stdout=out, stderr=subprocess.STDOUT)
            if proc.returncode != 0:
                raise RuntimeError(f"torchserve --start failed:\n{_tail(out_log)}")
            self.wait_ready(list(mars))
        except BaseException:
            self.stop()  # never leave the exporter (or a half-started TorchServe) behind
            raise

    def log_config(self) -> Path:
        """The log4j2 config next to the TorchServe config template (size-rotated files, quiet stdout)."""
        path = self.config_template.parent / "log4j2.xml"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: TorchServe's logs would grow without rotation")
        return path.resolve()

    def server_pid(self) -> int | None:
        """The TorchServe (Java) process id, from the pid file ``torchserve --start`` writes in TMPDIR."""
        try:
            return int((self.run_dir / "tmp" / ".model_server.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def wait_ready(self, models: list[str]) -> None:
        """Wait until every model has a READY worker; fail within seconds when TorchServe exits."""
        deadline = time.monotonic() + self.start_timeout_s
        pending = set(models)
        while time.monotonic() < deadline:
            pid = self.server_pid()
            if pid is not None and not _alive(pid):
                logs = self.run_dir / "logs"
                raise RuntimeError(f"TorchServe exited while starting (pid {pid}); ts_log.log tail:\n"
                                   f"{_tail(logs / 'ts_log.log')}\ntorchserve-start.log tail:\n"
                                   f"{_tail(logs / 'torchserve-start.log')}")
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
        raise RuntimeError(f"models {sorted(pending)} not ready after {self.start_timeout_s:.0f}s; "
                           f"model log tail:\n{_tail(self.run_dir / 'logs' / 'model_log.log')}")

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


def _tail(path: Path, chars: int = 3000) -> str:
    if not path.is_file():
        return f"({path.name} does not exist)"
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - chars))
        return f.read().decode("utf-8", "replace")


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return state != "Z"


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
