"""Example requests to every running dlzoo service, with their answers (the end of scripts/main.sh).

    python scripts/examples.py            # after `dlzoo serve start`, from the project root

Each service gets a few real requests over HTTP with the inference token, plus one bad request to
show its 4xx JSON answer. Detection posts held-out test images and prints the ground truth beside
the answer; face enrolls a real photograph and identifies another photo of that person, then enrolls
synthetic test identities and identifies and verifies other photos of them;
trigger word sends clips spoken by a held-out voice with "activate" ending at 3 s and 7 s, and without.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import requests

from pipelines.data.identity_folders import load_identity_folders
from pipelines.params import load_params
from pipelines.serving.server import Server


def show(label: str, response: requests.Response) -> None:
    body = response.text if len(response.text) < 400 else response.text[:400] + " ..."
    print(f"  {label:<34} -> {response.status_code} {body}")


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def translation(post) -> None:
    for text in ("3 May 1979", "tuesday 5 april 2016", "03.05.79", "MAY 3 1979", "the 21st of June, 2001"):
        show(repr(text), post(json={"text": text}))
    for text in ("hello world", "31 February 2020"):  # refused: 422 with the reason
        show(repr(text), post(json={"text": text}))
    show('{"text": ""}', post(json={"text": ""}))


def translation_en_es(post) -> None:
    for text in ("In the beginning, God created the heavens and the earth.", "The Lord is my shepherd.",
                 "Love your neighbour as yourself.", "Where is the train station?"):
        show(repr(text), post(json={"text": text}))
    show('{"text": "", "beam_size": 1}', post(json={"text": "", "beam_size": 1}))


def detection(post, params: dict) -> None:
    root = Path(params["data_detection"]["out"])
    coco = json.loads((root / "annotations" / "instances_test.json").read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    for image in coco["images"][:3]:
        truth = sorted(names[a["category_id"]] for a in coco["annotations"] if a["image_id"] == image["id"])
        path = root / "images" / "test" / image["file_name"]
        r = post(data=path.read_bytes(), headers={"Content-Type": "image/jpeg"})
        found = sorted(d["label"] for d in r.json().get("detections", [])) if r.ok else r.text
        print(f"  {path.name} ({image['width']}x{image['height']}) truth {truth}")
        print(f"  {'':<10} answer {r.status_code} {found}")
    show("b'not an image'", post(data=b"not an image", headers={"Content-Type": "image/jpeg"}))


def face(post, params: dict) -> None:
    from pipelines.realface.photos import PhotoError, load_photos

    try:  # real photographs shipped in packages (pipelines/realface/photos.json): found, aligned, embedded
        photos = {p.id: p for p in load_photos()}
        real = {k: base64.b64encode(photos[k].read()).decode() for k in ("obama", "obama3", "biden", "building")}
    except PhotoError as err:
        print(f"  (no real photographs: {err})")
        real = {}
    if real:
        show("enroll obama.jpg (910x1137)", post(json={"op": "enroll", "name": "Barack Obama", "image": real["obama"]}))
        show("identify obama3.jpg (1434x2333)", post(json={"op": "identify", "image": real["obama3"]}))
        show("identify biden.jpg", post(json={"op": "identify", "image": real["biden"]}))
        show("identify building.jpg (no face)", post(json={"op": "identify", "image": real["building"]}))
        post(json={"op": "delete", "name": "Barack Obama"})
    # the synthetic test identities: centred crops, sent as they are
    if real:
        print("  (drawn test faces next: the dlib backend never saw drawings and barely tells them apart, "
              "docs/face.md; serve.services.face.backend: course does)")
    people = list(load_identity_folders(Path(params["data_face"]["out"]) / "test").items())[:3]
    for name, photos in people:
        show(f"enroll {name} ({photos[0].name}, as_is)",
             post(json={"op": "enroll", "name": name, "image": b64(photos[0]), "face": "as_is"}))
    for name, photos in people:
        show(f"identify a new photo of {name}",
             post(json={"op": "identify", "image": b64(photos[1]), "face": "as_is"}))
    (a, pa), (b, pb) = people[0], people[1]
    show(f"verify {a} with {a}'s photo", post(json={"op": "verify", "name": a, "image": b64(pa[2]), "face": "as_is"}))
    show(f"verify {a} with {b}'s photo", post(json={"op": "verify", "name": a, "image": b64(pb[2]), "face": "as_is"}))
    show("list", post(json={"op": "list"}))
    show('{"op": "fly"}', post(json={"op": "fly"}))


def trigger_word(post) -> None:
    from pipelines.data.audio import encode_wav
    from pipelines.data.trigger_word.clips import spoken_clip

    voice = "en-gb-scotland+m3"  # a test voice: never in training
    with_word = spoken_clip([("activate", 3.0), ("coffee", 5.0), ("activate", 7.0)], voice)
    without = spoken_clip([("activity", 2.5), ("captivate", 6.0)], voice, seed=1)
    wav = {"Content-Type": "audio/wav"}
    show(f"{voice}: activate ends at 3 s and 7 s", post(data=encode_wav(with_word, 16000), headers=wav))
    show(f"{voice}: activity, captivate only", post(data=encode_wav(without, 16000), headers=wav))
    show("b'RIFF....'", post(data=b"RIFF....WAVE", headers=wav))


def main() -> int:
    params = load_params("params.yaml")
    server = Server.from_params(params)
    headers = server.auth()
    running = sorted(server.packaged())
    for service in running:
        url = f"{server.inference_url}/predictions/{service}"

        def post(url=url, **kw):
            return requests.post(url, headers={**headers, **kw.pop("headers", {})}, timeout=60, **kw)

        print(f"== {service}: POST {url}")
        if service == "translation":
            translation(post)
        elif service == "translation_en_es":
            translation_en_es(post)
        elif service == "detection":
            detection(post, params)
        elif service == "face":
            face(post, params)
        elif service == "trigger_word":
            trigger_word(post)
    show("(no token)", requests.post(f"{server.inference_url}/predictions/{running[0]}", json={}, timeout=30))
    return 0


if __name__ == "__main__":
    sys.exit(main())
