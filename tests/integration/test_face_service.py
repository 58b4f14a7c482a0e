"""The face service through a real TorchServe (smoke model): enroll -> verify -> identify, the gallery
surviving a TorchServe restart, 200 concurrent enrolls from 8 clients, and 4xx JSON for bad input."""

import base64
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from pipelines.data.identity_folders import load_identity_folders

pytestmark = pytest.mark.integration


def post(server, body):
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
