"""``dlzoo serve`` configuration: distinct ports, loopback gRPC, refused duplicates, a watched start."""

from __future__ import annotations

import subprocess
import sys
import xml.dom.minidom
from pathlib import Path

import pytest

from pipelines.params import load_params
from pipelines.serving.server import PORT_KEYS, Server, _alive, free_ports

ROOT = Path(__file__).resolve().parents[2]


def test_free_ports_are_distinct_and_outside_the_ephemeral_range():
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(20):
        ports = free_ports(len(PORT_KEYS))
        assert len(set(ports)) == len(PORT_KEYS)
        assert all(20_000 <= p < low for p in ports)


def server(tmp_path, **ports) -> Server:
    params = load_params(ROOT / "params.yaml")
    return Server.from_params(params, run_dir=str(tmp_path), **ports)


def test_duplicate_ports_are_refused_with_both_names(tmp_path):
    with pytest.raises(ValueError, match=r"serve\.inference_port and serve\.grpc_inference_port are both 8080"):
        server(tmp_path, grpc_inference_port=8080)
    with pytest.raises(ValueError, match="from 1 to 65535"):
        server(tmp_path, metrics_port=70_000)


def test_rendered_config_sets_every_port_and_keeps_grpc_on_loopback(tmp_path):
    ports = dict(zip(PORT_KEYS, free_ports(len(PORT_KEYS)), strict=True))
    srv = server(tmp_path, **ports)
    srv.config_template = ROOT / "deploy" / "torchserve" / "config.properties"
    text = srv.render_config().read_text()
    for key in ("inference_address", "management_address", "metrics_address"):
        assert f"{key}=http://127.0.0.1:{ports[key.replace('address', 'port')]}" in text
    assert f"grpc_inference_port={ports['grpc_inference_port']}" in text
    assert f"grpc_management_port={ports['grpc_management_port']}" in text
    assert "grpc_inference_address=127.0.0.1" in text and "grpc_management_address=127.0.0.1" in text
    assert f"initial_worker_port={ports['worker_port']}" in text
    assert "disable_token_authorization=false" in text and "enable_model_api=false" in text
    xml.dom.minidom.parse(str(srv.log_config()))  # log4j silently falls back to no logging on bad XML
    assert srv.env()["TS_DECODE_INPUT_REQUEST"] == "false"


def test_wait_ready_fails_fast_when_torchserve_is_gone(tmp_path):
    srv = server(tmp_path)
    (tmp_path / "tmp").mkdir()
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "ts_log.log").write_text("java.net.BindException: Address already in use\n")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert not _alive(dead.pid)
    (tmp_path / "tmp" / ".model_server.pid").write_text(str(dead.pid))
    with pytest.raises(RuntimeError, match="(?s)exited while starting.*Address already in use"):
        srv.wait_ready(["translation"])
