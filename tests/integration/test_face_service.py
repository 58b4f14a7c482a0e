"""The face service through a real TorchServe (smoke model): enroll -> verify -> identify, the gallery
surviving a TorchServe restart, 200 concurrent enrolls from 8 clients, and 4xx JSON for bad input; real
photographs found and aligned (dlib, the default backend), a gallery of another model refused until
``dlzoo face reenroll``."""

import base64
import io
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from PIL import Image

from pipelines.data.identity_folders import load_identity_folders
from pipelines.realface.photos import load_photos
from tests.integration.conftest import sh

pytestmark = pytest.mark.integration


def post(server, body):
    """Synthetic faces are centred crops: sent as_is unless the body says otherwise."""
    body = body if "face" in body or body.get("op") in ("list", "delete") else {**body, "face": "as_is"}
    return requests.post(f"{server.inference_url}/predictions/face", json=body, headers=server.auth(), timeout=60)


def photos(smoke_project):
    people = load_identity_folders(smoke_project / "data/faces/test")
    return {name: [base64.b64encode(p.read_bytes()).decode() for p in paths] for name, paths in people.items()}


def test_enroll_verify_identify_survive_a_restart(served, smoke_project):
    people = photos(smoke_project)
    (a, a_photos), (b, b_photos) = list(people.items())[:2]
    r = post(served, {"op": "enroll", "name": a, "image": a_photos[0]})
    assert r.status_code == 200, r.text
    assert r.json() == {"name": a, "images": 1}
    r = post(served, {"op": "verify", "name": a, "image": a_photos[0]})
    assert r.status_code == 200 and r.json()["match"] is True and r.json()["distance"] == 0.0
    assert post(served, {"op": "identify", "image": a_photos[0]}).json()["name"] == a
    assert post(served, {"op": "verify", "name": b, "image": b_photos[0]}).status_code == 404
    assert a in post(served, {"op": "list"}).json()["names"]

    served.stop()
    served.start()
    r = post(served, {"op": "identify", "image": a_photos[0]})
    assert r.status_code == 200 and r.json()["name"] == a
    assert post(served, {"op": "delete", "name": a}).json() == {"name": a, "deleted": 1}


def test_200_concurrent_enrolls_from_8_clients_all_land(served, smoke_project):
    image = next(iter(photos(smoke_project).values()))[0]

    def enroll(i):
        return post(served, {"op": "enroll", "name": f"crowd-{i % 20:02d}", "image": image}).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(enroll, range(200)))
    assert codes == [200] * 200
    names = [n for n in post(served, {"op": "list"}).json()["names"] if n.startswith("crowd-")]
    assert len(names) == 20
    counts = [post(served, {"op": "delete", "name": n}).json()["deleted"] for n in names]
    assert sum(counts) == 200 and set(counts) == {10}


@pytest.mark.parametrize("body,status", [
    ({"op": "fly"}, 400),
    ({"op": "enroll", "name": "x"}, 400),
    ({"op": "enroll", "name": "x" * 65, "image": "aGk="}, 400),
    ({"op": "identify", "image": "!!!"}, 400),
    ({"op": "identify", "image": base64.b64encode(b"plain text").decode()}, 400),
    ({"op": "delete", "name": "nobody-at-all"}, 404),
])
def test_bad_requests_get_4xx_json(served, body, status):
    r = post(served, body)
    assert r.status_code == status, r.text
    assert r.json()["error"]


# -- real photographs (pipelines/realface/photos.json) --------------------------------------------------
def jpeg_b64(image: Image.Image, quality: int = 90) -> str:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    return base64.b64encode(buf.getvalue()).decode()


@pytest.fixture(scope="module")
def real():
    return {p.id: p.open() for p in load_photos()}


def detect(server, body):
    return post(server, {**body, "face": "detect"})


def test_a_real_photo_enrolled_identifies_another_photo_of_that_person(served, real):
    r = detect(served, {"op": "enroll", "name": "obama-real", "image": jpeg_b64(real["obama"])})
    assert r.status_code == 200 and r.json()["images"] == 1 and len(r.json()["box"]) == 4, r.text
    for other in ("obama2", "obama3"):  # other photographs of him (obama3: 2333 x 1434)
        r = detect(served, {"op": "identify", "image": jpeg_b64(real[other])})
        assert r.status_code == 200 and r.json()["name"] == "obama-real", (other, r.text)
    r = detect(served, {"op": "identify", "image": jpeg_b64(real["biden"])})
    assert r.status_code == 200 and r.json()["name"] is None, r.text
    r = detect(served, {"op": "identify", "image": jpeg_b64(real["building"])})
    assert r.status_code == 422 and r.json() == {"error": "no face found"}

    # two people in one photo (two packaged portraits side by side): a result per face, with its box
    a, b = real["obama2"], real["biden"]
    b = b.resize((round(b.width * a.height / b.height), a.height))
    pair = Image.new("RGB", (a.width + b.width, a.height))
    pair.paste(a, (0, 0))
    pair.paste(b, (a.width, 0))
    r = detect(served, {"op": "identify", "image": jpeg_b64(pair)})
    assert r.status_code == 200, r.text
    faces = sorted(r.json()["faces"], key=lambda f: f["box"][0])
    assert [f["name"] for f in faces] == ["obama-real", None] and faces[1]["box"][0] >= a.width
    r = detect(served, {"op": "enroll", "name": "two", "image": jpeg_b64(pair)})
    assert r.status_code == 422 and len(r.json()["boxes"]) == 2

    # a 12 MP photo with the face somewhere small in it
    canvas = Image.new("RGB", (4000, 3000), (128, 140, 120))
    canvas.paste(real["obama3"].resize((717, 1166)), (2900, 1500))
    r = detect(served, {"op": "identify", "image": jpeg_b64(canvas)})
    assert r.status_code == 200 and r.json()["name"] == "obama-real", r.text
    assert r.json()["box"][0] >= 2900 and r.json()["box"][1] >= 1500
    assert post(served, {"op": "delete", "name": "obama-real"}).json()["deleted"] == 1


def test_a_gallery_of_another_model_is_refused_until_reenrolled(served, smoke_project, real):
    r = detect(served, {"op": "enroll", "name": "obama-model", "image": jpeg_b64(real["obama"])})
    assert r.status_code == 200, r.text
    reenroll = ["dlzoo", "face", "reenroll", "--gallery", str(served.face_gallery)]
    sh(*reenroll, "--backend", "course", cwd=smoke_project)  # the course network's embeddings now
    r = detect(served, {"op": "identify", "image": jpeg_b64(real["obama2"])})
    assert r.status_code == 409 and "dlzoo face reenroll" in r.json()["error"], r.text
    sh(*reenroll, cwd=smoke_project)  # back to the service's backend (params: dlib)
    r = detect(served, {"op": "identify", "image": jpeg_b64(real["obama2"])})
    assert r.status_code == 200 and r.json()["name"] == "obama-model", r.text
    assert post(served, {"op": "delete", "name": "obama-model"}).json()["deleted"] == 1
