"""The detection handler through a mock TorchServe context (no server): every image format, JSON
with thresholds, and a 400 for each kind of bad input without spoiling the rest of the batch."""

import base64
import io
import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from services.base import ClientError
from services.detection import DetectionHandler
from services.mock_context import MockContext
from tests.conftest import DETECTION_CLASSES
from tests.unit import fuzz


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


def test_a_data_url_without_a_comma_is_a_400_naming_the_field(handler, tiny_detection_dir):
    answers, statuses = run(handler, tiny_detection_dir, [{"image": "data:image/png;base64"}], ["application/json"])
    assert statuses[0][0] == 400 and answers[0]["error"].startswith("'image' is a data: URL without the comma")


@pytest.fixture(scope="module")
def default_handler(tiny_detection_dir):
    """A handler with params.yaml's limits (service.json is written from serve.services.detection)."""
    h = DetectionHandler()
    h.initialize(MockContext(tiny_detection_dir))
    return h


def test_a_limit_missing_from_service_json_fails_the_load_naming_the_param(tiny_detection_dir, tmp_path):
    (tmp_path / "model.pt").symlink_to(tiny_detection_dir / "model.pt")
    config = json.loads((tiny_detection_dir / "service.json").read_text())
    (tmp_path / "service.json").write_text(json.dumps({k: v for k, v in config.items() if k != "max_pixels"}))
    with pytest.raises(KeyError, match=r"serve\.services\.detection\.max_pixels"):
        DetectionHandler().initialize(MockContext(tmp_path))


def jpeg_claiming(width, height):
    """A 16 x 16 JPEG (~630 bytes) whose header claims ``width x height``."""
    data = bytearray(image_bytes("JPEG", (16, 16)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def test_the_default_pixel_limit_passes_a_24_mp_photo_only(default_handler):
    assert default_handler.max_pixels == 24_000_000
    with pytest.raises(ClientError, match="6001x4000 = 24004000 pixels; the limit is 24000000"):
        default_handler.parse(png_claiming(6001, 4000), "image/png")
    item = default_handler.parse(image_bytes("JPEG", (6000, 4000)), "image/jpeg")
    assert item["size"] == (6000, 4000) and max(item["image"].size) == default_handler.side


def test_a_jpeg_bomb_header_is_refused_before_decoding(default_handler, tiny_detection_dir):
    """~630 bytes claiming 6300 x 6300: eight of them once took a worker from 0.98 to 2.06 GB."""
    answers, statuses = run(default_handler, tiny_detection_dir, [jpeg_claiming(6300, 6300)] * 8, ["image/jpeg"] * 8)
    assert [statuses[i][0] for i in range(8)] == [400] * 8
    assert "6300x6300 = 39690000 pixels; the limit is 24000000" in answers[0]["error"]


def test_a_jpeg_bomb_under_the_limit_is_decoded_small(handler):
    """Under a configured 40 MP limit the same file is decoded at 1/8 scale, then shrunk: never 119 MB of RGB."""
    handler.max_pixels = 40_000_000  # a deployment that raised serve.services.detection.max_pixels
    item = handler.parse(jpeg_claiming(6300, 6300), "image/jpeg")
    assert item["size"] == (6300, 6300) and item["image"].size == (handler.side, handler.side)


@pytest.mark.parametrize("orientation,size", [(1, (2000, 1000)), (6, (1000, 2000))])
def test_big_images_are_shrunk_in_parse_and_boxes_come_back_in_the_original_pixels(
        handler, tiny_detection_dir, monkeypatch, orientation, size):
    seen = []

    def fake_detect(model, images, *args, **kwargs):  # a box over the whole image and one over its middle
        seen.extend(images)
        return [{"boxes": np.array([[0.0, 0.0, im.width, im.height],
                                    [im.width / 4, im.height / 4, im.width * 3 / 4, im.height * 3 / 4]]),
                 "scores": np.array([0.9, 0.8]), "labels": np.array([0, 1])} for im in images]

    monkeypatch.setattr("pipelines.tasks.detection.detect", fake_detect)
    buf = io.BytesIO()
    exif = Image.new("RGB", (1, 1)).getexif()
    exif[0x0112] = orientation
    Image.new("RGB", (2000, 1000), (200, 30, 30)).save(buf, format="JPEG", exif=exif)
    answers, statuses = run(handler, tiny_detection_dir, [buf.getvalue()], ["image/jpeg"])
    assert statuses == {}
    w, h = size
    assert (answers[0]["width"], answers[0]["height"]) == size
    assert max(seen[0].size) == handler.side  # the batch holds the shrunk image, not the 2 MP one
    assert [d["box"] for d in answers[0]["detections"]] == [[0, 0, w, h], [w / 4, h / 4, w * 3 / 4, h * 3 / 4]]


def test_shrinking_in_parse_gives_the_boxes_of_the_full_size_image(tiny_detection_dir):
    """A PNG (decoded in full) shrunk by the letterbox's own resize: the network sees the same pixels, and the
    boxes mapped back match those of ``detect`` on the original image."""
    from pipelines.tasks.detection import detect

    h = DetectionHandler()
    h.initialize(MockContext(tiny_detection_dir))
    h.input_size, h.side = [192], 192  # one letterbox size, so both paths resize exactly once
    original = Image.fromarray(np.random.default_rng(0).integers(0, 255, (600, 1000, 3), dtype=np.uint8))
    buf = io.BytesIO()
    original.save(buf, format="PNG")
    body = {"image": b64(buf.getvalue()), "score_threshold": 0.0, "max_detections": 20}
    answers, statuses = run(h, tiny_detection_dir, [body], ["application/json"])
    expected = detect(h.model, [original], 0.0, h.iou_threshold, 20, input_size=192)[0]["boxes"]
    got = np.array([d["box"] for d in answers[0]["detections"]])
    assert statuses == {} and len(got) == 20 and (answers[0]["width"], answers[0]["height"]) == (1000, 600)
    np.testing.assert_allclose(got, expected, atol=0.051)


def test_parse_raises_only_client_errors(handler):
    good_images = [b64(image_bytes("PNG", (40, 30))), "data:image/jpeg;base64," + b64(image_bytes("JPEG", (30, 40))),
                   "data:", "data:,", b64(png_claiming(7000, 7000)), b64(image_bytes("JPEG")[:300])]
    fields = {"image": good_images, "score_threshold": [0.0, 0.5, 1], "iou_threshold": [0.3, 1.0],
              "max_detections": [1, 300]}
    parsed = fuzz.parse_all(handler, fuzz.bodies(np.random.default_rng(11), fields, 400))
    assert parsed > 5


def test_damaged_images_of_every_format_raise_only_client_errors():
    """Flipped bytes, cut files and lying headers: decoders raise OSError, SyntaxError, struct.error, ...;
    decode_image turns each into a 400 that says the image is truncated or corrupt."""
    from services.images import FORMATS, decode_image

    rng = np.random.default_rng(23)
    noise = Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    originals = []
    for fmt in ("JPEG", "PNG", "BMP", "WEBP"):
        buf = io.BytesIO()
        noise.save(buf, format=fmt)
        originals.append(buf.getvalue())
    decoded = 0
    for i in range(600):
        data = bytearray(originals[i % 4])
        for _ in range(int(rng.integers(1, 4))):
            data[int(rng.integers(len(data)))] = int(rng.integers(256))
        if rng.random() < 0.4:
            data = data[:int(rng.integers(len(data) + 1))]
        try:
            picture = decode_image(bytes(data), FORMATS, 20_000_000, 24_000_000, min_side=int(rng.choice([8, 32])))
            decoded += 1
            assert picture.image.mode == "RGB" and picture.size[0] * picture.size[1] <= 24_000_000
        except ClientError as err:
            assert err.status == 400
    assert decoded > 50


def test_a_phone_jpeg_with_extra_pictures_is_read(handler, tiny_detection_dir):
    """Phones append depth or gain maps to their JPEGs; PIL calls such a file MPO and reads the first picture."""
    buf = io.BytesIO()
    Image.new("RGB", (320, 200), (9, 90, 200)).save(buf, format="MPO", save_all=True,
                                                    append_images=[Image.new("RGB", (80, 50))])
    assert Image.open(io.BytesIO(buf.getvalue())).format == "MPO"
    answers, statuses = run(handler, tiny_detection_dir, [buf.getvalue()], ["image/jpeg"])
    assert statuses == {} and (answers[0]["width"], answers[0]["height"]) == (320, 200)
