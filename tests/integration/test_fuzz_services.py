"""No client can break the services: schemathesis fuzzes a live TorchServe from deploy/openapi.yaml
(positive and negative cases, every service), then named regression cases from earlier fuzzing run
against the same server. Each must end in 0 answers of 5xx from client input, 0 worker deaths and
batch-mates of a bad request answered 200."""

from __future__ import annotations

import base64
import io
import json
import socket
import struct
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from PIL import Image

from pipelines.data.audio import encode_wav
from tests.conftest import ROOT

pytestmark = pytest.mark.integration

SERVICES = ("translation", "translation_en_es", "detection", "face", "trigger_word")
FUZZ_EXAMPLES = 150  # hypothesis max_examples per service, positive and negative cases mixed

# Binary bodies (images, WAV) go out as schemathesis generates them: bytes as they are, text as UTF-8.
schemathesis.serializer.alias("audio/wav", "application/octet-stream")
schema = schemathesis.openapi.from_path(ROOT / "deploy" / "openapi.yaml")
# The token is not fuzzed (TorchServe's own check answers 400 without it: test_torchserve.py covers that).
schema.config.generation.update(max_examples=FUZZ_EXAMPLES, deterministic=True, database="none",
                                with_security_parameters=False)


def worker_pids(server) -> dict[str, list[int]]:
    pids = {}
    for name in SERVICES:
        r = requests.get(f"{server.management_url}/models/{name}", headers=server.auth("management"), timeout=10)
        r.raise_for_status()
        pids[name] = sorted(w["pid"] for w in r.json()[0]["workers"])
    return pids


@pytest.fixture(scope="module")
def workers_before(served):
    return worker_pids(served)


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=FUZZ_EXAMPLES)
def test_fuzzed_requests_never_get_5xx(case, served, workers_before):
    response = case.call(base_url=served.inference_url, headers=served.auth(), timeout=60)
    assert response.status_code < 500, (case.body if not isinstance(case.body, bytes) else case.body[:200],
                                        response.status_code, response.text[:500])
    if 400 <= response.status_code < 500:
        assert isinstance(response.json().get("error"), str), response.text[:500]


# -- named regression cases -------------------------------------------------------------------------
def post(server, service, body=None, content_type="application/json", **kw):
    return requests.post(f"{server.inference_url}/predictions/{service}", data=body,
                         headers={"Content-Type": content_type, **server.auth()}, timeout=120, **kw)


def wav_header_with(bits: int) -> bytes:
    """A WAV whose fmt chunk claims ``bits`` bits per sample."""
    data = b"\x00" * 64
    fmt = struct.pack("<HHIIHH", 1, 1, 16000, 16000 * 2, 2, bits)
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
            + b"data" + struct.pack("<I", len(data)) + data)


def jpeg_claiming(width: int, height: int) -> bytes:
    """A tiny JPEG whose header claims ``width`` x ``height`` (a decompression bomb's shape)."""
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, "JPEG")
    raw = bytearray(buf.getvalue())
    sof = raw.index(b"\xff\xc0")
    raw[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(raw)


def png(size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (90, 120, 200)).save(buf, "PNG")
    return buf.getvalue()


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# (service, body, content type, expected status): each broke a worker or a batch before.
BAD = [
    ("face", json.dumps({"op": "delete", "name": "José"}), 404),
    ("face", json.dumps({"op": "énroll"}), 400),
    ("face", json.dumps({"op": "enroll", "name": "a\u202eb", "image": b64(png())}), 400),
    ("face", json.dumps({"op": "enroll", "name": "zero\u200bwidth", "image": b64(png())}), 400),
    ("detection", json.dumps({"image": "QUJD", "score_threshold": "é"}), 400),
    ("detection", json.dumps({"image": "data:image/png;base64" + b64(png())}), 400),  # a data: URL without comma
    ("detection", json.dumps({"image": b64(jpeg_claiming(6300, 6300))}), 400),
    ("trigger_word", json.dumps({"audio": "UklGRg==", "chime": "ü"}), 400),
    ("trigger_word", json.dumps({"audio": b64(wav_header_with(0))}), 400),
    ("trigger_word", json.dumps({"audio": b64(encode_wav(np.zeros(1600, np.float32), 16000))}), 400),  # 0.1 s
    ("translation", '{"text": ' + "[" * 5000 + "]" * 5000 + "}", 400),
    ("translation", '{"text": "3 May 1979", "beam_size": ' + "9" * 5000 + "}", 400),
    ("translation", '{"text": "3 May 1979", "beam_size": NaN}', 400),
    ("translation_en_es", json.dumps({"text": " \t "}), 400),
    ("translation_en_es", json.dumps({"text": "x" * 2001}), 400),
    ("translation_en_es", json.dumps({"text": "The Lord is my shepherd.", "beam_size": 9}), 400),
    ("translation_en_es", json.dumps({"text": ["The Lord"]}), 400),
]
# The smoke model is trained for one tiny epoch: its answer to a date may be a refusal (422, "not a date");
# either is the translation service's own answer to that request, which is what these tests check.
ANSWERED = {"translation": (200, 422), "translation_en_es": (200,), "detection": (200,), "face": (200,),
            "trigger_word": (200,)}
VALID = {
    "translation": json.dumps({"text": "3 May 1979"}),
    "translation_en_es": json.dumps({"text": "The Lord is my shepherd."}),
    "detection": json.dumps({"image": b64(png())}),
    "face": json.dumps({"op": "list"}),
    "trigger_word": json.dumps({"audio": b64(encode_wav(np.zeros(16000, np.float32), 16000))}),
}


@pytest.mark.parametrize("service, body, status", BAD, ids=[f"{s}-{i}" for i, (s, _, _) in enumerate(BAD)])
def test_regression_case_answers_4xx_json(served, service, body, status):
    r = post(served, service, body.encode())
    assert r.status_code == status, r.text[:300]
    assert r.reason.isascii() and isinstance(r.json()["error"], str)


def test_batch_mates_of_bad_requests_are_answered(served):
    """Bad and valid requests sent together land in the same dynamic batches: every valid one is 200."""
    jobs = [(s, VALID[s], ANSWERED[s]) for s in SERVICES for _ in range(6)] + [(s, b, (st,)) for s, b, st in BAD]
    jobs = jobs[::2] + jobs[1::2]  # interleave
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda job: (job, post(served, job[0], job[1].encode())), jobs))
    for (service, body, statuses), r in results:
        assert r.status_code in statuses, (service, body[:80], r.status_code, r.text[:300])
        assert r.status_code == 200 or r.json()["error"]


@pytest.mark.parametrize("rate", [8000, 44100, 47999, 48000])
def test_a_60_s_clip_at_any_allowed_rate_answers_within_5_s(served, rate):
    samples = (0.1 * np.sin(2 * np.pi * 440 * np.arange(int(59.9 * rate)) / rate)).astype(np.float32)
    start = time.monotonic()
    r = post(served, "trigger_word", encode_wav(samples, rate), "audio/wav")
    elapsed = time.monotonic() - start
    assert r.status_code == 200, r.text[:300]
    assert elapsed < 5.0, f"{elapsed:.1f} s for 59.9 s at {rate} Hz"


def test_frontend_answers_are_counted_with_client_side_latency(served):
    """Answers the handler never sees (an unknown model) reach the dlzoo counter, through the access log."""
    requests.post(f"{served.inference_url}/predictions/no_such_model", data=b"x", headers=served.auth(), timeout=10)
    post(served, "translation", VALID["translation"].encode())
    deadline = time.monotonic() + 10
    text = ""
    while time.monotonic() < deadline:
        text = requests.get(f"http://127.0.0.1:{served.exporter_port}/metrics", timeout=10).text
        if 'dlzoo_requests_total{service="other",status="404"}' in text:
            break
        time.sleep(0.3)
    assert 'dlzoo_requests_total{service="other",status="404"}' in text
    assert 'dlzoo_request_latency_seconds_count{service="translation"}' in text
    assert 'dlzoo_handler_latency_seconds_count{service="translation"}' in text


def test_no_worker_died(served, workers_before):
    assert worker_pids(served) == workers_before


def test_a_second_server_on_a_taken_port_fails_fast_with_torchserve_s_error(served, tmp_path):
    """A port already in use: `start` reports TorchServe's own error within seconds, and leaves nothing running."""
    from pipelines.serving.server import PORT_KEYS, Server, free_ports

    ports = dict(zip(PORT_KEYS, free_ports(len(PORT_KEYS)), strict=True))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", ports["grpc_inference_port"]))
        taken.listen()
        second = Server(served.config_template, served.store, tmp_path, **ports, start_timeout_s=120)
        start = time.monotonic()
        with pytest.raises(RuntimeError, match="(?i)address already in use|bind"):
            second.start()
        assert time.monotonic() - start < 60
    assert not (tmp_path / "exporter.pid").exists()
