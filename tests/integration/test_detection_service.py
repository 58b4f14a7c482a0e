"""The detection service through a real TorchServe (smoke model): raw bytes and JSON requests,
400 JSON for bad images without worker restarts, custom metrics on the exporter."""

import base64
import io
import json
import random

import pytest
import requests
from PIL import Image

from tests.unit.test_detection_handler import png_claiming

pytestmark = pytest.mark.integration


def predict(server, body=None, headers=None, **kw):
    return requests.post(f"{server.inference_url}/predictions/detection", data=body,
                         headers={**(headers or {}), **server.auth()}, timeout=30, **kw)


def held_out_image(smoke_project):
    coco = json.loads((smoke_project / "data/detection/annotations/instances_test.json").read_text())
    entry = coco["images"][0]
    return (smoke_project / "data/detection/images/test" / entry["file_name"]).read_bytes(), entry


def worker_pids(server):
    r = requests.get(f"{server.management_url}/models/detection", headers=server.auth("management"), timeout=10)
    r.raise_for_status()
    return sorted(w["pid"] for w in r.json()[0]["workers"])


def test_raw_jpeg_and_json_answers(served, smoke_project):
    data, entry = held_out_image(smoke_project)
    r = predict(served, data, {"Content-Type": "image/jpeg"})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert (r.json()["width"], r.json()["height"]) == (entry["width"], entry["height"])
    r = predict(served, json={"image": base64.b64encode(data).decode(), "score_threshold": 0.0, "max_detections": 3})
    assert r.status_code == 200, r.text
    dets = r.json()["detections"]
    assert len(dets) == 3 and all(set(d) == {"label", "score", "box"} for d in dets)
    assert all(0 <= d["box"][0] <= d["box"][2] <= entry["width"] for d in dets)


def bad_bodies():
    buf = io.BytesIO()
    Image.new("RGB", (64, 64)).save(buf, format="PNG")
    png = buf.getvalue()
    return [
        (b"", {"Content-Type": "image/jpeg"}),
        (b"GIF89a not really", {"Content-Type": "image/gif"}),
        (b"plain text, no image", {"Content-Type": "text/plain"}),
        (png[: len(png) // 2], {"Content-Type": "image/png"}),
        (png_claiming(60_000, 60_000), {"Content-Type": "image/png"}),
        (b'{"image": "%%%"}', {"Content-Type": "application/json"}),
        (json.dumps({"image": base64.b64encode(png).decode(), "score_threshold": -1}).encode(),
         {"Content-Type": "application/json"}),
        (json.dumps({"image": base64.b64encode(png).decode(), "iou_threshold": "x"}).encode(),
         {"Content-Type": "application/json"}),
    ]


def test_bad_images_get_400_json_and_the_worker_stays(served, smoke_project):
    before = worker_pids(served)
    rng = random.Random(1)
    bodies = bad_bodies()
    for _ in range(40):
        body, headers = rng.choice(bodies)
        r = predict(served, body, headers)
        assert r.status_code == 400, (body[:40], r.status_code, r.text)
        assert r.json()["error"]
    assert worker_pids(served) == before
    assert predict(served, held_out_image(smoke_project)[0], {"Content-Type": "image/jpeg"}).status_code == 200


def test_detection_metrics_on_the_exporter(served, smoke_project):
    data, _ = held_out_image(smoke_project)
    predict(served, json={"image": base64.b64encode(data).decode(), "score_threshold": 0.0, "max_detections": 2})
    ours = requests.get(f"http://127.0.0.1:{served.exporter_port}/metrics", timeout=10).text
    assert 'dlzoo_detections_per_image_count{service="detection"}' in ours
    assert 'dlzoo_detections_total{label="' in ours
    assert 'dlzoo_request_latency_seconds_count{service="detection"}' in ours
