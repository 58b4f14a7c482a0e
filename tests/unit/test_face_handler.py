"""The face handler through a mock TorchServe context, with no model: a fake embedding (the mean colour of
each image quadrant) makes images of one solid colour match and of different colours not.

    python -m pytest -q tests/unit/test_face_handler.py
"""

import base64
import io
import json
import logging

import numpy as np
import pytest
from PIL import Image

from pipelines.realface.align import Face
from pipelines.realface.backends import Backend
from pipelines.serving.package import service_config
from services.face import FACE_OPERATIONS, FACES_PER_IMAGE, IMAGE_FIELDS, FaceHandler
from services.mock_context import MockContext
from tests.unit import fuzz

RED, RED2, BLUE, GREEN = (220, 30, 30), (210, 40, 35), (30, 30, 220), (30, 200, 40)


class FakeBackend(Backend):
    """A backend without a network: the mean colour of each quadrant of a 32 px input."""

    name, padding, size, threshold, model_id = "fake", 0.25, 32, 0.5, "fake:1"

    def __init__(self):
        self.calls: list[int] = []

    def embed(self, inputs):
        self.calls.append(len(inputs))
        rows = []
        for x in inputs:
            a = np.asarray(Image.fromarray(x).resize((16, 16)), dtype=np.float32) / 255.0
            v = np.concatenate([q.mean(axis=(0, 1)) for q in (a[:8, :8], a[:8, 8:], a[8:, :8], a[8:, 8:])]) + 0.01
            rows.append(v / np.linalg.norm(v))
        return np.stack(rows).astype(np.float32)


class FakeFaceHandler(FaceHandler):
    """FaceHandler without a network or dlib: a fake backend, and a fake detector that sees a face in each band
    of columns that are not white (a solid colour: one face; two colours with white between: two)."""

    def load(self, model_dir):
        self.model = None
        self.bundle = {"meta": {"threshold": 0.5}, "config": {"input_size": 32}}
        self.configure(model_dir)

    def load_backend(self, model_dir):
        return FakeBackend()

    @property
    def embed_calls(self):
        return self.backend.calls

    def find_faces(self, picture):
        pixels = np.asarray(picture.image)
        coloured = pixels.mean(axis=(0, 2)) < 250  # per column
        edges = np.flatnonzero(np.diff(np.concatenate([[0], coloured.astype(int), [0]])))
        sx = picture.size[0] / pixels.shape[1]
        faces = []
        for x0, x1 in zip(edges[::2], edges[1::2], strict=True):
            chip = np.asarray(Image.fromarray(pixels[:, x0:x1]).resize((200, 200)))
            faces.append(Face((round(x0 * sx), 0, round(x1 * sx), picture.size[1]), 1.0, chip))
        return sorted(faces, key=lambda f: -(f.box[2] - f.box[0]))


@pytest.fixture
def model_dir(tmp_path, monkeypatch, smoke_params):
    monkeypatch.delenv("DLZOO_FACE_GALLERY", raising=False)
    out = tmp_path / "model"
    out.mkdir()
    # as_is by default here: the tests of names, batching and limits predate detection (tested below)
    (out / "service.json").write_text(json.dumps({**service_config("face", smoke_params), "face": "as_is",
                                                  "gallery": str(tmp_path / "g" / "g.sqlite")}))
    return out


def new_handler(model_dir):
    h = FakeFaceHandler()
    h.initialize(MockContext(model_dir))
    return h


@pytest.fixture
def handler(model_dir):
    return new_handler(model_dir)


def image_b64(color, fmt="JPEG", size=(64, 64)):
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format=fmt)
    return base64.b64encode(buf.getvalue()).decode()


def run(handler, bodies):
    """Answers and statuses ({idx: (code, phrase)}; only the non-200 ones) for one batch."""
    headers = [{"Content-Type": "application/json"}] * len(bodies)
    ctx = MockContext(handler.context.system_properties["model_dir"], headers)
    out = handler.handle([{"body": b} for b in bodies], ctx)
    return [json.loads(o) for o in out], ctx.statuses


def one(handler, body):
    answers, statuses = run(handler, [body])
    return answers[0], statuses.get(0, (200, ""))[0]


def enroll(name, color, fmt="JPEG"):
    return {"op": "enroll", "name": name, "image": image_b64(color, fmt)}


def test_enroll_list_verify_identify_compare_delete(handler, tmp_path):
    assert one(handler, enroll("alice", RED)) == ({"name": "alice", "images": 1}, 200)
    assert one(handler, enroll("alice", RED2, "PNG")) == ({"name": "alice", "images": 2}, 200)
    assert one(handler, enroll(" bob ", BLUE)) == ({"name": "bob", "images": 1}, 200)  # names are stripped
    assert one(handler, {"op": "list"}) == ({"names": ["alice", "bob"]}, 200)
    assert (tmp_path / "g" / "g.sqlite").is_file()

    answer, status = one(handler, {"op": "verify", "name": "alice", "image": image_b64(RED)})
    assert status == 200 and answer["match"] is True and answer["threshold"] == 0.5
    assert answer["name"] == "alice" and 0 <= answer["distance"] < 0.05
    answer, _ = one(handler, {"op": "verify", "name": "alice", "image": image_b64(BLUE)})
    assert answer["match"] is False and answer["distance"] > 0.5  # an impostor

    answer, _ = one(handler, {"op": "identify", "image": image_b64(BLUE, "PNG")})
    assert answer["name"] == "bob" and answer["distance"] < 0.05 and answer["threshold"] == 0.5
    answer, _ = one(handler, {"op": "identify", "image": image_b64(GREEN)})
    assert answer["name"] is None and answer["distance"] > 0.5  # the nearest, though nobody is near enough

    answer, _ = one(handler, {"op": "compare", "image_a": image_b64(RED), "image_b": image_b64(RED2, "PNG")})
    assert answer["match"] is True and answer["distance"] < 0.1 and set(answer) == {"match", "distance", "threshold"}
    answer, _ = one(handler, {"op": "compare", "image_a": image_b64(RED), "image_b": image_b64(GREEN)})
    assert answer["match"] is False

    assert one(handler, {"op": "delete", "name": "alice"}) == ({"name": "alice", "deleted": 2}, 200)
    answer, status = one(handler, {"op": "verify", "name": "alice", "image": image_b64(RED)})
    assert status == 404 and "alice" in answer["error"]
    answer, _ = one(handler, {"op": "identify", "image": image_b64(RED)})
    assert answer["name"] is None
    assert one(handler, {"op": "list"}) == ({"names": ["bob"]}, 200)


def test_identify_on_an_empty_gallery(handler):
    answer, status = one(handler, {"op": "identify", "image": image_b64(RED)})
    assert status == 200 and answer == {"name": None, "distance": None, "threshold": 0.5}


def test_a_batch_is_embedded_once_and_applied_in_order(handler):
    bodies = [{"op": "list"}, enroll("carol", GREEN), {"op": "identify", "image": image_b64(GREEN)},
              {"op": "compare", "image_a": image_b64(RED), "image_b": image_b64(BLUE)}, {"op": "list"}]
    answers, statuses = run(handler, bodies)
    assert statuses == {}
    assert handler.embed_calls == [4]  # enroll 1 + identify 1 + compare 2, in one forward pass
    assert answers[0] == {"names": []}  # before the enroll ...
    assert answers[1] == {"name": "carol", "images": 1}
    assert answers[2]["name"] == "carol"  # ... the enroll is visible to the later identify
    assert answers[3]["match"] is False
    assert answers[4] == {"names": ["carol"]}


def test_list_and_delete_need_no_embedding(handler):
    one(handler, enroll("dave", RED))
    handler.embed_calls.clear()
    run(handler, [{"op": "list"}, {"op": "delete", "name": "dave"}])
    assert handler.embed_calls == []


def gif_b64():
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="GIF")
    return base64.b64encode(buf.getvalue()).decode()


@pytest.mark.parametrize("body,status,message", [
    (b"{broken json", 400, "not valid JSON"),
    (b"\xff{", 400, "UTF-8"),
    ([{"op": "list"}], 400, "JSON object"),
    (b"[1, 2]", 400, "JSON object"),
    ({}, 400, "missing 'op'"),
    ({"name": "alice"}, 400, "missing 'op'"),
    ({"op": "dance"}, 400, "unknown 'op'"),
    ({"op": 3}, 400, "unknown 'op'"),
    ({"op": "enroll", "image": "IMG"}, 400, "missing 'name'"),
    ({"op": "enroll", "name": 7, "image": "IMG"}, 400, "'name' must be a string"),
    ({"op": "enroll", "name": None, "image": "IMG"}, 400, "'name' must be a string"),
    ({"op": "enroll", "name": "   ", "image": "IMG"}, 400, "'name' is empty"),
    ({"op": "enroll", "name": "x" * 65, "image": "IMG"}, 400, "the limit is 64"),
    ({"op": "enroll", "name": "al\nice", "image": "IMG"}, 400, "control characters"),
    ({"op": "enroll", "name": "al\x00ice", "image": "IMG"}, 400, "control characters"),
    ({"op": "enroll", "name": "al\ud800ice", "image": "IMG"}, 400, "control characters"),
    ({"op": "enroll", "name": "alice"}, 400, "'image' must be"),
    ({"op": "verify", "image": "IMG"}, 400, "missing 'name'"),
    ({"op": "delete"}, 400, "missing 'name'"),
    ({"op": "identify"}, 400, "'image' must be"),
    ({"op": "identify", "image": 12}, 400, "'image' must be"),
    ({"op": "identify", "image": "@@@not base64@@@"}, 400, "'image' is not valid base64"),
    ({"op": "identify", "image": base64.b64encode(b"not an image").decode()}, 400, "not an image"),
    ({"op": "identify", "image": "GIF"}, 400, "not supported"),
    ({"op": "compare", "image_a": "IMG"}, 400, "'image_b' must be"),
    ({"op": "compare", "image_b": "IMG"}, 400, "'image_a' must be"),
    ({"op": "verify", "name": "nobody", "image": "IMG"}, 404, "no one named 'nobody'"),
    ({"op": "delete", "name": "nobody"}, 404, "no one named 'nobody'"),
])
def test_bad_input_answers_4xx_json(handler, body, status, message):
    if isinstance(body, dict):  # placeholders: real images are made here, not at collection
        body = {k: {"IMG": image_b64(RED), "GIF": gif_b64()}.get(v, v) if isinstance(v, str) else v
                for k, v in body.items()}
    answer, code = one(handler, body)
    assert code == status, answer
    assert set(answer) == {"error"} and message in answer["error"]
    if status == 400:
        assert handler.embed_calls == []  # bad input never reaches the model


def test_a_name_at_the_limit_and_unicode_are_fine(handler):
    assert one(handler, enroll("é" * 64, RED))[1] == 200
    assert one(handler, enroll("e\u0301" * 64, RED))[1] == 200  # 128 code points, 64 once normalised
    assert one(handler, enroll("Zoë 👩🔬 李", BLUE))[1] == 200
    assert one(handler, {"op": "list"})[0] == {"names": ["Zoë 👩🔬 李", "é" * 64]}


def test_names_are_nfc_normalised(handler):
    """"José" typed with a precomposed é and with e + a combining acute accent is one person."""
    precomposed, decomposed = "Jos\u00e9", "Jose\u0301"
    assert one(handler, enroll(precomposed, RED)) == ({"name": precomposed, "images": 1}, 200)
    assert one(handler, enroll(decomposed, RED2)) == ({"name": precomposed, "images": 2}, 200)
    assert one(handler, {"op": "verify", "name": decomposed, "image": image_b64(RED)})[0]["match"] is True
    assert one(handler, {"op": "list"})[0] == {"names": [precomposed]}
    assert one(handler, {"op": "delete", "name": decomposed})[0] == {"name": precomposed, "deleted": 2}


@pytest.mark.parametrize("name,problem", [
    ("ali\u200bce", "invisible format character (U+200B)"),  # zero-width space
    ("ali\u200dce", "invisible format character (U+200D)"),  # zero-width joiner (emoji sequences too)
    ("\u202eecila", "invisible format character (U+202E)"),  # right-to-left override
    ("\ufeffalice", "invisible format character (U+FEFF)"),  # byte order mark
    ("alice\u2066", "invisible format character (U+2066)"),  # left-to-right isolate
    ("ali\ue000ce", "private-use character (U+E000)"),
    ("ali\U000e0001ce", "invisible format character (U+E0001)"),  # language tag
    ("ali\u0378ce", "unassigned code point (U+0378)"),
    ("ali\u2028ce", "line separator (U+2028)"),
    ("ali\u2029ce", "paragraph separator (U+2029)"),
    ("ali\x85ce", "control characters"),
    ("al\tice", "control characters"),
])
def test_invisible_characters_in_names_are_refused(handler, name, problem):
    for op in ("enroll", "verify", "delete"):
        answer, status = one(handler, {"op": op, "name": name, "image": image_b64(RED)})
        assert status == 400 and answer["error"].startswith("'name' contains") and problem in answer["error"]
    assert handler.embed_calls == []


def test_a_json_string_body_is_parsed(handler):
    answer, status = one(handler, json.dumps({"op": "list"}))
    assert status == 200 and answer == {"names": []}


def test_an_oversized_image_answers_413(model_dir):
    config = json.loads((model_dir / "service.json").read_text())
    (model_dir / "service.json").write_text(json.dumps({**config, "max_bytes": 1000}))
    h = new_handler(model_dir)
    big = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(big).save(buf, format="PNG")
    answer, status = one(h, {"op": "identify", "image": base64.b64encode(buf.getvalue()).decode()})
    assert status == 413 and "1000" in answer["error"]


def test_a_bad_item_does_not_spoil_its_batch(handler):
    one(handler, enroll("erin", BLUE))
    bodies = [enroll("frank", RED), {"op": "identify", "image": "@@@"}, {"op": "verify", "name": "ghost",
              "image": image_b64(RED)}, {"op": "verify", "name": "erin", "image": image_b64(BLUE)},
              {"op": "identify", "image": image_b64(RED)}, b"nonsense"]
    answers, statuses = run(handler, bodies)
    assert {i: s[0] for i, s in statuses.items()} == {1: 400, 2: 404, 5: 400}
    assert answers[0] == {"name": "frank", "images": 1}
    assert answers[3]["match"] is True
    assert answers[4]["name"] == "frank"
    assert handler.embed_calls[-1] == 4  # the unknown name's image is embedded before the lookup


def test_a_failing_model_answers_500_for_its_batch_only(handler):
    def broken(images):
        raise RuntimeError("CUDA out of memory")
    handler.embed = broken
    answers, statuses = run(handler, [{"op": "identify", "image": image_b64(RED)}, {"op": "dance"}])
    assert statuses[0][0] == 500 and "internal error" in answers[0]["error"]
    assert statuses[1][0] == 400
    handler.embed = lambda images: np.zeros((len(images) + 1, 4), dtype=np.float32)  # a wrong shape: also 500
    assert one(handler, {"op": "identify", "image": image_b64(RED)})[1] == 500


def test_a_second_handler_on_the_same_gallery_shares_it(model_dir):
    first, second = new_handler(model_dir), new_handler(model_dir)
    assert one(second, {"op": "identify", "image": image_b64(RED)})[0]["name"] is None  # fills second's cache
    one(first, enroll("heidi", RED))
    assert one(second, {"op": "identify", "image": image_b64(RED)})[0]["name"] == "heidi"
    assert one(second, {"op": "verify", "name": "heidi", "image": image_b64(RED)})[0]["match"] is True
    assert one(second, {"op": "delete", "name": "heidi"})[0] == {"name": "heidi", "deleted": 1}
    assert one(first, {"op": "list"})[0] == {"names": []}
    one(first, enroll("ivan", GREEN))
    first.gallery.close()
    third = new_handler(model_dir)  # the file persists
    assert one(third, {"op": "list"})[0] == {"names": ["ivan"]}


def test_gallery_path_env_wins_else_config_else_model_dir(model_dir, tmp_path, monkeypatch, caplog):
    assert new_handler(model_dir).gallery.path == tmp_path / "g" / "g.sqlite"
    monkeypatch.setenv("DLZOO_FACE_GALLERY", str(tmp_path / "env" / "faces.sqlite"))
    h = new_handler(model_dir)
    assert h.gallery.path == tmp_path / "env" / "faces.sqlite" and (tmp_path / "env").is_dir()
    monkeypatch.delenv("DLZOO_FACE_GALLERY")
    config = json.loads((model_dir / "service.json").read_text())
    (model_dir / "service.json").write_text(json.dumps({k: v for k, v in config.items() if k != "gallery"}))
    with caplog.at_level(logging.WARNING, logger="services.face"):
        h = new_handler(model_dir)
    assert h.gallery.path == model_dir / "gallery.sqlite"
    assert "not persistent" in caplog.text
    assert h.max_bytes == 10_000_000 and h.max_pixels == 24_000_000 and h.max_name_chars == 64  # params.yaml's


def test_operations_are_counted(handler):
    class Recorder:
        def __init__(self):
            self.names = []

        def add_counter(self, name, value, dimensions=None):
            self.names.append(name)

    handler.context.metrics = Recorder()
    enrolled = FACE_OPERATIONS.labels(service="face", op="enroll", outcome="enrolled")._value.get()
    no_match = FACE_OPERATIONS.labels(service="face", op="identify", outcome="no_match")._value.get()
    run(handler, [enroll("judy", RED), {"op": "identify", "image": image_b64(GREEN)}])
    assert FACE_OPERATIONS.labels(service="face", op="enroll", outcome="enrolled")._value.get() == enrolled + 1
    assert FACE_OPERATIONS.labels(service="face", op="identify", outcome="no_match")._value.get() == no_match + 1
    assert handler.context.metrics.names == ["DlzooFaceOps_enroll", "DlzooFaceOps_identify"]


def test_a_name_deleted_earlier_in_the_batch(handler):
    """Names are looked up in request order: after an earlier item's delete, verify and delete answer 404."""
    one(handler, enroll("kim", RED))
    answers, statuses = run(handler, [{"op": "delete", "name": "kim"}, {"op": "verify", "name": "kim",
                                                                         "image": image_b64(RED)},
                                      {"op": "delete", "name": "kim"}])
    assert answers[0] == {"name": "kim", "deleted": 1}
    assert statuses[1][0] == statuses[2][0] == 404 and 0 not in statuses
    assert "no one named 'kim'" in answers[1]["error"] and "no one named 'kim'" in answers[2]["error"]


def test_a_name_enrolled_earlier_in_the_batch_can_be_verified(handler):
    answers, statuses = run(handler, [enroll("lou", RED), {"op": "verify", "name": "lou", "image": image_b64(RED)}])
    assert statuses == {} and answers[1]["match"] is True


@pytest.mark.parametrize("mode", ["as_is", "detect"])
def test_images_are_made_the_backends_input_in_parse(handler, mode):
    """The batch holds input_size squares, whatever the photo's size (here a 3000 x 2000 JPEG)."""
    buf = io.BytesIO()
    Image.new("RGB", (3000, 2000), RED).save(buf, format="JPEG")
    item = handler.parse({"op": "compare", "image_a": base64.b64encode(buf.getvalue()).decode(), "face": mode,
                          "image_b": image_b64(BLUE, "PNG", (64, 700))}, "application/json")
    assert [[f["input"].shape for f in faces] for faces in item["images"]] == [[(32, 32, 3)], [(32, 32, 3)]]


def test_parse_raises_only_client_errors(handler):
    images = [image_b64(RED), image_b64(BLUE, "PNG"), "data:", "data:image/png;base64," + image_b64(GREEN, "PNG"),
              gif_b64(), image_b64(RED)[:200]]
    fields = {"op": list(IMAGE_FIELDS), "name": ["alice", "Jose\u0301", " bob ", "", "\u200b"], "image": images,
              "image_a": images, "image_b": images}
    parsed = fuzz.parse_all(handler, fuzz.bodies(np.random.default_rng(17), fields, 600))
    assert parsed > 10  # the success path is fuzzed too


# -- faces found in photos (detect mode, the service's default) ------------------------------------------
def photo_b64(*colors, fmt="PNG"):
    """A white 64 x (128 * n) photo with a 64 px block of each colour: the fake detector's faces."""
    image = Image.new("RGB", (128 * max(1, len(colors)), 64), (255, 255, 255))
    for k, color in enumerate(colors):
        image.paste(color, (128 * k, 0, 128 * k + 64, 64))
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return base64.b64encode(buf.getvalue()).decode()


def detect(body):
    return {**body, "face": "detect"}


def test_a_photo_without_a_face_answers_422(handler):
    for op in ({"op": "identify"}, {"op": "enroll", "name": "x"}):
        answer, status = one(handler, detect({**op, "image": photo_b64()}))
        assert status == 422 and answer == {"error": "no face found"}
    answer, status = one(handler, detect({"op": "compare", "image_a": photo_b64(RED), "image_b": photo_b64()}))
    assert status == 422 and answer["error"] == "no face found in 'image_b'"


def test_one_face_answers_as_before_with_its_box(handler):
    answer, status = one(handler, detect({"op": "enroll", "name": "ana", "image": photo_b64(RED)}))
    assert status == 200 and answer == {"name": "ana", "images": 1, "box": [0, 0, 64, 64]}
    answer, status = one(handler, detect({"op": "identify", "image": photo_b64(RED2)}))
    assert status == 200 and answer["name"] == "ana" and answer["box"] == [0, 0, 64, 64]


def test_two_faces_answer_one_result_each_with_its_box(handler):
    one(handler, detect({"op": "enroll", "name": "ana", "image": photo_b64(RED)}))
    answer, status = one(handler, detect({"op": "identify", "image": photo_b64(BLUE, RED2)}))
    assert status == 200
    assert answer["threshold"] == 0.5 and [f["box"] for f in answer["faces"]] == [[0, 0, 64, 64], [128, 0, 192, 64]]
    assert [f["name"] for f in answer["faces"]] == [None, "ana"]
    answer, status = one(handler, detect({"op": "verify", "name": "ana", "image": photo_b64(RED2, GREEN)}))
    assert status == 200 and [f["match"] for f in answer["faces"]] == [True, False]


def test_enroll_and_compare_refuse_a_photo_of_several_faces_naming_the_boxes(handler):
    answer, status = one(handler, detect({"op": "enroll", "name": "ana", "image": photo_b64(RED, BLUE)}))
    assert status == 422 and answer["boxes"] == [[0, 0, 64, 64], [128, 0, 192, 64]]
    assert answer["error"].startswith("2 faces found; enroll takes a photo of one person")
    assert one(handler, {"op": "list"})[0] == {"names": []}


def test_a_bad_face_mode_is_a_400(handler):
    answer, status = one(handler, {"op": "identify", "image": photo_b64(RED), "face": "guess"})
    assert status == 400 and "'face' must be one of detect, as_is" in answer["error"]


def test_faces_per_image_are_counted(handler):
    before = FACES_PER_IMAGE.labels(service="face")._sum.get()
    one(handler, detect({"op": "identify", "image": photo_b64(RED, BLUE, GREEN)}))
    assert FACES_PER_IMAGE.labels(service="face")._sum.get() - before == 3


def test_enroll_keeps_the_model_and_the_aligned_face_and_refuses_another_models_gallery(handler):
    one(handler, detect({"op": "enroll", "name": "ana", "image": photo_b64(RED)}))
    [(_, name, model, chip, aligned)] = handler.gallery.faces()
    assert (name, model, aligned) == ("ana", "fake:1", True)
    assert Image.open(io.BytesIO(chip)).size == (200, 200)
    handler.gallery.add("old", np.ones(12, np.float32) / np.sqrt(12), model="fake:0")
    for body in ({"op": "identify", "image": photo_b64(RED)}, {"op": "enroll", "name": "b", "image": photo_b64(RED)}):
        answer, status = one(handler, detect(body))
        assert status == 409 and "1 by fake:0" in answer["error"] and "dlzoo face reenroll" in answer["error"]
    assert one(handler, {"op": "list"})[0] == {"names": ["ana", "old"]}  # list and delete still work
