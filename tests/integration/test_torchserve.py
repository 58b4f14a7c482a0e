"""The translation service through a real TorchServe: token auth, no model registration, JSON
errors for malformed requests without worker restarts, metrics endpoints."""

import random
import re
import time

import pytest
import requests

pytestmark = pytest.mark.integration


def predict(server, body=None, headers=None, auth=True, **kw):
    h = dict(headers or {})
    if auth:
        h.update(server.auth())
    return requests.post(f"{server.inference_url}/predictions/translation", data=body, headers=h, timeout=30, **kw)


def worker_pids(server):
    r = requests.get(f"{server.management_url}/models/translation", headers=server.auth("management"), timeout=10)
    r.raise_for_status()
    return sorted(w["pid"] for w in r.json()[0]["workers"])


def test_answers_with_the_token(served):
    """The smoke model (one tiny epoch) answers a date (200) or refuses it (422); either way a JSON answer
    of the documented shape, the same for a JSON and a text/plain body."""
    r = predict(served, json={"text": "3 May 1979"})
    assert r.status_code in (200, 422), r.text
    body = r.json()
    assert r.headers["Content-Type"].startswith("application/json")
    if r.status_code == 200:
        assert set(body) >= {"translation", "score"} and re.fullmatch(r"\d{4}-\d{2}-\d{2}", body["translation"])
    else:
        assert body["error"] == "not a date" and body["reason"]
    r2 = predict(served, "3 May 1979", {"Content-Type": "text/plain"})
    assert r2.status_code == r.status_code and r2.json() == body


def test_without_or_with_a_wrong_token_answers_4xx(served):
    assert 400 <= predict(served, json={"text": "3 May 1979"}, auth=False).status_code < 500
    r = predict(served, json={"text": "3 May 1979"}, auth=False, headers={"Authorization": "Bearer wrong"})
    assert 400 <= r.status_code < 500
    assert 400 <= requests.get(f"{served.inference_url}/ping", timeout=5).status_code < 500


def test_model_registration_is_disabled(served):
    r = requests.post(f"{served.management_url}/models", params={"url": "translation.mar"},
                      headers=served.auth("management"), timeout=10)
    assert r.status_code == 405


MALFORMED = [
    (b"", {"Content-Type": "text/plain"}),
    (b"   ", {"Content-Type": "text/plain"}),
    (b"\xff\xfe\xfa", {"Content-Type": "text/plain"}),
    (b"{\"text\": ", {"Content-Type": "application/json"}),
    (b"{\"text\": 3}", {"Content-Type": "application/json"}),
    (b"[1, 2]", {"Content-Type": "application/json"}),
    (b"{\"text\": \"" + b"9" * 300 + b"\"}", {"Content-Type": "application/json"}),
    (b"{\"text\": \"3 may 1979\", \"beam_size\": -1}", {"Content-Type": "application/json"}),
    (b"\x00\x01\x02\xff", {"Content-Type": "application/octet-stream"}),
    (b"null", {"Content-Type": "application/json"}),
]


def test_100_malformed_requests_get_4xx_json_and_no_worker_restart(served):
    before = worker_pids(served)
    rng = random.Random(0)
    for _ in range(100):
        body, headers = rng.choice(MALFORMED)
        r = predict(served, body, headers)
        assert 400 <= r.status_code < 500, (body, r.status_code, r.text)
        assert isinstance(r.json()["error"], str) and r.json()["error"]
    assert worker_pids(served) == before
    assert predict(served, json={"text": "1 jan 2000"}).status_code in (200, 422)  # the model's own answer


def test_metrics_endpoints(served):
    predict(served, json={"text": "3 May 1979"})
    ts = requests.get(f"http://127.0.0.1:{served.metrics_port}/metrics", timeout=10).text
    assert "ts_inference_requests_total" in ts
    ours = requests.get(f"http://127.0.0.1:{served.exporter_port}/metrics", timeout=10).text
    assert 'dlzoo_handler_latency_seconds_bucket{le="0.1",service="translation"}' in ours
    for _ in range(50):  # the exporter follows TorchServe's access log: a fraction of a second behind
        if 'dlzoo_requests_total{service="translation",status="400"}' in ours:
            break
        time.sleep(0.2)
        ours = requests.get(f"http://127.0.0.1:{served.exporter_port}/metrics", timeout=10).text
    assert 'dlzoo_request_latency_seconds_bucket{le="0.1",service="translation"}' in ours
    assert 'dlzoo_requests_total{service="translation",status="400"}' in ours
