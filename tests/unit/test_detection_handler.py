"""The detection handler through a mock TorchServe context (no server): every image format, JSON
with thresholds, and a 400 for each kind of bad input without spoiling the rest of the batch."""

import base64
import io
import json
import struct
import zlib

import pytest
from PIL import Image

from services.detection import DetectionHandler
from services.mock_context import MockContext
from tests.conftest import DETECTION_CLASSES


@pytest.fixture(scope="module")
def handler(tiny_detection_dir):
    h = DetectionHandler()
    h.initialize(MockContext(tiny_detection_dir))
    return h


def image_bytes(fmt="JPEG", size=(320, 200)):
    buf = io.BytesIO()
    Image.new("RGB", size, (40, 120, 200)).save(buf, format=fmt)
    return buf.getvalue()


def png_claiming(width, height):
    """A PNG whose header claims ``width x height`` (a decompression bomb's header, or a zero size)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def run(handler, model_dir, bodies, content_types):
    ctx = MockContext(model_dir, [{"Content-Type": ct} for ct in content_types])
    out = handler.handle([{"body": b} for b in bodies], ctx)
    return [json.loads(o) for o in out], ctx.statuses


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "BMP", "WEBP"])
def test_raw_image_bytes_of_every_format(handler, tiny_detection_dir, fmt):
    answers, statuses = run(handler, tiny_detection_dir, [image_bytes(fmt)], ["application/octet-stream"])
    assert statuses == {}
    assert answers[0]["width"] == 320 and answers[0]["height"] == 200
    assert isinstance(answers[0]["detections"], list)


def test_json_with_thresholds_returns_boxes_inside_the_image(handler, tiny_detection_dir):
    body = {"image": base64.b64encode(image_bytes("PNG", (300, 500))).decode(), "score_threshold": 0.0,
            "max_detections": 7}
    answers, statuses = run(handler, tiny_detection_dir, [body], ["application/json"])
    assert statuses == {}
    dets = answers[0]["detections"]
    assert len(dets) == 7  # an untrained net at threshold 0 has plenty of candidates
    assert [d["score"] for d in dets] == sorted((d["score"] for d in dets), reverse=True)
    for d in dets:
        x1, y1, x2, y2 = d["box"]
        assert d["label"] in DETECTION_CLASSES
        assert 0 <= x1 <= x2 <= 300 and 0 <= y1 <= y2 <= 500


def test_json_sent_as_bytes_and_data_urls_work(handler, tiny_detection_dir):
    b64 = base64.b64encode(image_bytes("JPEG")).decode()
    bodies = [json.dumps({"image": b64}).encode(), {"image": "data:image/jpeg;base64," + b64}]
    answers, statuses = run(handler, tiny_detection_dir, bodies, ["application/json", "application/json"])
    assert statuses == {} and all(a["width"] == 320 for a in answers)


def b64(data):
    return base64.b64encode(data).decode()


@pytest.mark.parametrize("body,message", [
    (b"", "empty"),
    (b"this is not an image at all", "not an image"),
    (image_bytes("JPEG")[:400], "truncated"),
    (image_bytes("PNG")[:60], "truncated"),
    (image_bytes("GIF"), "not supported"),
    (png_claiming(50_000, 50_000), "limit is"),
    (png_claiming(7_000, 7_000), "limit is"),
    (png_claiming(0, 10), ""),
    ({"image": "@@@not base64@@@"}, "base64"),
    ({"image": 12}, "'image' must be"),
    ({"picture": "abc"}, "'image' must be"),
    ({"image": b64(image_bytes()), "score_threshold": 1.5}, "score_threshold"),
    ({"image": b64(image_bytes()), "iou_threshold": "high"}, "iou_threshold"),
    ({"image": b64(image_bytes()), "max_detections": 0}, "max_detections"),
    ({"image": b64(image_bytes()), "max_detections": 5000}, "max_detections"),
    (b"{broken json", "not valid JSON"),
])
def test_bad_input_answers_400_json(handler, tiny_detection_dir, body, message):
    ctype = "application/json" if isinstance(body, dict) else "application/octet-stream"
    answers, statuses = run(handler, tiny_detection_dir, [body], [ctype])
    assert statuses[0][0] == 400, answers
    assert message in answers[0]["error"]


def test_an_oversized_body_answers_413(handler, tiny_detection_dir):
    answers, statuses = run(handler, tiny_detection_dir, [b"\xff\xd8" + b"0" * (handler.max_bytes + 1)],
                            ["image/jpeg"])
    assert statuses[0][0] == 413 and "limit" in answers[0]["error"]


def test_a_bad_image_does_not_spoil_its_batch(handler, tiny_detection_dir):
    bodies = [image_bytes("JPEG"), b"junk", image_bytes("PNG", (64, 64))]
    answers, statuses = run(handler, tiny_detection_dir, bodies, ["image/jpeg"] * 3)
    assert set(statuses) == {1}
    assert answers[0]["width"] == 320 and answers[2]["width"] == 64 and "error" in answers[1]


def test_exif_rotation_is_applied(handler, tiny_detection_dir):
    buf = io.BytesIO()
    image = Image.new("RGB", (300, 100))
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees": a viewer shows it 100 x 300
    image.save(buf, format="JPEG", exif=exif)
    answers, _ = run(handler, tiny_detection_dir, [buf.getvalue()], ["image/jpeg"])
    assert (answers[0]["width"], answers[0]["height"]) == (100, 300)


def test_the_configured_inference_size_is_used_and_a_bad_one_fails_the_load(tiny_detection_dir, tmp_path):
    config = json.loads((tiny_detection_dir / "service.json").read_text())
    assert config["decode"]["input_size"] == [128, 192]  # the smoke profile's 1x and 1.5x its training size
    h = DetectionHandler()
    h.initialize(MockContext(tiny_detection_dir))
    assert h.input_size == [128, 192]

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.pt").symlink_to(tiny_detection_dir / "model.pt")
    config["decode"]["input_size"] = 150
    (bad / "service.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="decode.input_size must be a multiple of 32"):
        DetectionHandler().initialize(MockContext(bad))
