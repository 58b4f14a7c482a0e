"""Faces in real photographs (pipelines.realface) with the real dlib models and the packaged photos.

    python -m pytest -q tests/unit/test_realface.py
"""

import io
import json

import numpy as np
import pytest
from PIL import Image

from pipelines.realface import align, evaluate, models
from pipelines.realface.backends import DlibBackend, dlib_threshold, load_backend
from pipelines.realface.photos import Photo, PhotoError, load_photos
from pipelines.realface.reenroll import reenroll
from services.gallery import Gallery


@pytest.fixture(scope="module")
def photos():
    return {p.id: p for p in load_photos()}


@pytest.fixture(scope="module")
def dlib_backend():
    return DlibBackend(0.6)


def test_the_photos_are_annotated_and_read_as_recorded(photos):
    assert {"obama", "obama2", "obama3", "biden", "messi5", "building"} <= set(photos)
    assert all(p.duplicate_of in photos for p in photos.values() if p.duplicate_of)
    for p in photos.values():
        for x0, y0, x1, y1 in p.faces + p.ignore:
            assert 0 <= x0 < x1 and 0 <= y0 < y1
    tampered = Photo(**{**photos["obama"].__dict__, "sha256": "0" * 64})
    with pytest.raises(PhotoError, match="differs from the annotated"):
        tampered.read()


def test_a_face_is_found_where_it_was_drawn_and_none_in_a_building(photos):
    obama = photos["obama"]
    faces = align.find_faces(obama.open())
    assert len(faces) == 1 and faces[0].chip.shape == (200, 200, 3) and faces[0].aligned
    assert evaluate.box_iou([list(faces[0].box)], obama.faces)[0, 0] >= 0.5
    assert align.find_faces(photos["building"].open()) == []


def test_boxes_are_in_the_clients_pixels_when_the_decode_is_smaller(photos):
    image = photos["obama"].open()
    full = align.find_faces(image)[0].box
    half = align.find_faces(image.resize((image.width // 2, image.height // 2)), size=image.size)[0].box
    # the detector sees another scale, so the box moves a little (unscaled, it would sit at half the size)
    assert evaluate.box_iou([list(full)], [list(half)])[0, 0] > 0.8


def test_the_dlib_crop_of_the_chip_is_dlibs_own_alignment(photos):
    import dlib

    pixels = np.asarray(photos["obama"].open())
    rect = models.detector()(pixels, 1)[0]
    own = dlib.get_face_chip(pixels, models.landmarks()(pixels, rect), size=150, padding=0.25)
    face = align.find_faces(photos["obama"].open())[0]
    ours = align.crop(face, 0.25, 150)
    assert ours.shape == own.shape
    assert np.abs(ours.astype(int) - own.astype(int)).mean() < 3  # the same region; resampling differs a little


def test_dlib_tells_obama_from_biden(photos, dlib_backend):
    faces = {k: align.find_faces(photos[k].open())[0] for k in ("obama", "obama2", "obama3", "biden")}
    emb = dict(zip(faces, evaluate.embed_faces(dlib_backend, list(faces.values())), strict=True))
    same = [np.linalg.norm(emb["obama"] - emb[k]) for k in ("obama2", "obama3")]
    other = [np.linalg.norm(emb[k] - emb["biden"]) for k in ("obama", "obama2", "obama3")]
    assert max(same) < 0.6 < min(other)


def test_match_boxes_counts_hits_misses_false_boxes_and_ignores():
    truth = [[0, 0, 10, 10], [20, 0, 30, 10]]
    found = [[1, 1, 10, 10], [50, 50, 60, 60], [100, 0, 110, 10], [21, 0, 31, 10]]
    m = evaluate.match_boxes(found, truth, ignore=[[99, 0, 111, 11]])
    assert (m["hits"], m["misses"], m["false_boxes"], m["owner"]) == (2, 0, 1, [0, 3])
    assert evaluate.match_boxes([], truth, [])["misses"] == 2


def test_the_dlib_threshold_comes_from_its_calibration(tmp_path):
    with pytest.raises(FileNotFoundError, match="dlzoo backends face"):
        dlib_threshold(tmp_path / "none.json")
    (tmp_path / "dlib.json").write_text(json.dumps({"threshold": 0.55}))
    assert load_backend("dlib", calibration=tmp_path / "dlib.json").threshold == 0.55
    with pytest.raises(ValueError, match="unknown face backend"):
        load_backend("vgg")


def test_reenroll_embeds_the_kept_faces_again(tmp_path, photos, dlib_backend, monkeypatch):
    monkeypatch.setattr("pipelines.realface.reenroll.load_backend", lambda name, model_file: dlib_backend)
    face = align.find_faces(photos["obama"].open())[0]
    buf = io.BytesIO()
    Image.fromarray(face.chip).save(buf, format="PNG")
    g = Gallery(tmp_path / "g.sqlite")
    g.add("obama", np.ones(16, np.float32) / 4, model="course:abc", chip=buf.getvalue())
    g.add("ghost", np.ones(16, np.float32) / 4, model=None)  # from before the gallery kept faces
    report = reenroll(g.path, "dlib", tmp_path / "unused.pt")
    assert (report["reembedded"], report["unrecoverable"], report["dropped"]) == (1, 1, 0)
    assert g.models() == {dlib_backend.model_id: 1, None: 1}
    _, matrix = g.embeddings("obama")
    np.testing.assert_allclose(matrix[0], dlib_backend.embed([dlib_backend.prepare(face)])[0], atol=1e-6)
    report = reenroll(g.path, "dlib", tmp_path / "unused.pt", drop_unrecoverable=True)
    assert (report["reembedded"], report["already_current"], report["dropped"]) == (0, 1, 1)
    assert g.names() == ["obama"]
