"""Face recognition service: ``POST /predictions/face`` with a JSON object whose ``op`` says what to do.

    TOKEN=$(dlzoo serve token); URL=http://127.0.0.1:8080/predictions/face
    curl -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
         -d "{\"op\": \"enroll\", \"name\": \"alice\", \"image\": \"$(base64 -w0 alice.jpg)\"}" $URL
    -> {"name": "alice", "images": 1}

    {"op": "enroll", "name": "alice", "image": <b64>}   -> {"name": "alice", "images": 2}
    {"op": "verify", "name": "alice", "image": <b64>}   -> {"name": "alice", "match": true, "distance": 0.41,
                                                            "threshold": 0.7}
    {"op": "identify", "image": <b64>}                  -> {"name": "alice" | null, "distance": 0.38 | null,
                                                            "threshold": 0.7}
    {"op": "compare", "image_a": <b64>, "image_b": <b64>} -> {"match": false, "distance": 1.12, "threshold": 0.7}
    {"op": "list"}                                      -> {"names": ["alice", "bob"]}
    {"op": "delete", "name": "alice"}                   -> {"name": "alice", "deleted": 2}

Faces: by default every image is searched for faces (``"face": "detect"``; dlib's detector, then each face
aligned by its eye and nose landmarks: ``pipelines.realface.align``), so a photo may show the person anywhere:
    one face         -> the answer above, plus its "box": [x0, y0, x1, y1] in the photo's pixels
    several faces    -> identify and verify answer {"faces": [{"box": [...], "name": ..., "distance": ...}, ...],
                        "threshold": t}, one result per face, largest first; enroll and compare answer 422
                        {"error": "3 faces found ...", "boxes": [...]} (which face is meant is the client's call)
    no face          -> 422 {"error": "no face found"}
``"face": "as_is"`` takes each image whole as a face crop (no detection: the synthetic test set's centred crops).

Backends (``serve.services.face.backend``, ``pipelines.realface.backends``): ``dlib``, dlib's ResNet trained
on real photographs (the default), or ``course``, the network trained here on synthetic identities. The gallery
records the model that made each embedding and the aligned face; one made by another model answers 409 (a
distance between two models' vectors means nothing): ``dlzoo face reenroll`` embeds the gallery again.

Images are base64 JPEG or PNG (a ``data:`` URL works too). A distance is Euclidean between the backend's
embeddings (the course network's are unit-norm; dlib's as dlib makes them), and ``match`` means
``distance <= threshold``, the backend's calibrated threshold (the course network's travels in ``model.pt``,
dlib's in the archive's ``artifacts/face/backends/dlib.json``). ``verify`` takes the nearest of the name's
enrolled images; ``identify`` answers the nearest enrolled image's name, or ``null`` when none is within the
threshold.

The gallery is one SQLite file shared by every worker (``services.gallery``): the path is
``$DLZOO_FACE_GALLERY``, else ``"gallery"`` in service.json, else ``<model dir>/gallery.sqlite``
(which TorchServe discards with the model: a warning says so).

Names are Unicode NFC-normalised and stripped, so "José" typed precomposed or with a combining accent is
one person; a name with control characters or invisible ones (format characters such as zero-width
spaces and joiners, bidi overrides and the BOM; private-use, unassigned, line and paragraph separators)
is refused, since two names that look the same must be the same name.

A bad body, op, name or image answers ``400 {"error": ...}`` (images: more than ``max_pixels``, default
24 MP, on the header); verify or delete of a name nobody enrolled answers 404.

Memory and time: each image is searched and aligned as soon as it is decoded (``parse``: a JPEG is decoded
at a reduced scale, at least ``detect_max_side`` px, and the detector sees it shrunk to that side), so a batch
holds only each face's small input (67 KB at 150 px) and, for enrolls, its 200 px chip; while one request is
parsed, its decode: at most ``max_pixels x 8`` bytes (~190 MB for a 24 MP RGBA PNG; a 24 MP JPEG ~1/4 of
that). Detection runs per image as each request is parsed (dlib's HOG detector has no batch form, and a
worker has one core); every face of a dynamic batch is then embedded in one pass, and the batch's
requests are applied in order against the gallery: an enroll is visible to a later verify or identify of
the same batch, a delete to a later verify.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client import Counter, Histogram

from services.base import BaseHandler, ClientError, json_object
from services.fields import base64_field, describe
from services.gallery import Gallery
from services.images import decode_image

log = logging.getLogger(__name__)

# op -> the image fields it takes; ops in NAMED also take a "name".
IMAGE_FIELDS = {"enroll": ("image",), "verify": ("image",), "identify": ("image",),
                "compare": ("image_a", "image_b"), "list": (), "delete": ()}
NAMED = ("enroll", "verify", "delete")
FORMATS = ("JPEG", "PNG")
# Invisible or unprintable: Cc control, Cs lone surrogate (SQLite cannot store it), Cf format (zero-width
# space/joiner, bidi overrides, BOM), Co private use, Cn unassigned, Zl/Zp line and paragraph separators.
REFUSED_IN_NAMES = {"Cc": "control characters", "Cs": "control characters", "Cf": "an invisible format character",
                    "Co": "a private-use character", "Cn": "an unassigned code point",
                    "Zl": "a line separator", "Zp": "a paragraph separator"}

FACE_MODES = ("detect", "as_is")
ONE_FACE = {"enroll": "enroll takes a photo of one person", "compare": "compare takes one face per image"}

FACES_PER_IMAGE = Histogram("dlzoo_face_faces_per_image", "Faces found in each image a request sent (detect mode)",
                            ["service"], buckets=(0, 1, 2, 3, 5, 8, 13, 21, 32))
FACE_OPERATIONS = Counter("dlzoo_face_operations", "Face operations answered, by op and outcome",
                          ["service", "op", "outcome"])


class FaceHandler(BaseHandler):
    service = "face"

    def load(self, model_dir: Path) -> None:
        super().load(model_dir)
        self.configure(model_dir)

    def configure(self, model_dir: Path) -> None:
        """Everything but the course network: the backend and its threshold, limits, the gallery."""
        self.backend = self.load_backend(model_dir)
        self.threshold = float(self.backend.threshold)
        self.input_size = int(self.backend.size)
        self.face_mode = str(self.setting("face"))
        self.detect = {"max_side": int(self.setting("detect_max_side")),
                       "upsample": int(self.setting("detect_upsample")), "max_faces": int(self.setting("max_faces"))}
        self.max_bytes = int(self.setting("max_bytes"))
        self.max_pixels = int(self.setting("max_pixels"))
        self.max_name_chars = int(self.setting("max_name_chars"))
        self.gallery = Gallery(self.gallery_path(model_dir))
        log.info("dlzoo face gallery: %s (%d names), backend %s", self.gallery.path, len(self.gallery.names()),
                 self.backend.model_id)

    def load_backend(self, model_dir: Path):
        """``serve.services.face.backend``: the course network (``model.pt``, loaded by ``load``) or dlib's, with the
        threshold its calibration stored in the archive (overridden in tests)."""
        from pipelines.realface.backends import (
            DLIB_CALIBRATION,
            CourseBackend,
            DlibBackend,
            course_model_id,
            dlib_threshold,
        )

        name = self.setting("backend")
        if name == "course":
            return CourseBackend(self.model, self.bundle["meta"]["threshold"], course_model_id(model_dir / "model.pt"))
        if name == "dlib":
            backend = DlibBackend(dlib_threshold(Path(model_dir) / DLIB_CALIBRATION))
            backend.warm()
            return backend
        raise ValueError(f"serve.services.face.backend is {name!r}: course or dlib")

    def gallery_path(self, model_dir: Path) -> Path:
        """``$DLZOO_FACE_GALLERY``, else service.json's ``gallery``, else ``<model_dir>/gallery.sqlite``."""
        configured = os.environ.get("DLZOO_FACE_GALLERY") or self.config.get("gallery")
        if configured:
            return Path(os.path.expanduser(str(configured)))
        path = Path(model_dir) / "gallery.sqlite"
        log.warning("dlzoo face: no DLZOO_FACE_GALLERY nor 'gallery' in service.json; enrolled faces go to %s, "
                    "which is not persistent (TorchServe deletes the model dir on unregister)", path)
        return path

    def embed(self, inputs: list[np.ndarray]) -> np.ndarray:
        """The backend's inputs -> float32 embeddings, one row each."""
        return self.backend.embed(inputs)

    def find_faces(self, picture) -> list:
        """The faces in a decoded picture, largest first (overridden in tests; dlib's models are read on the first
        call, about 0.1 s: ``load_backend`` reads them while the worker starts)."""
        from pipelines.realface.align import find_faces

        return find_faces(picture.image, picture.size, **self.detect)

    # -- input ------------------------------------------------------------------------------------
    def parse(self, body: Any, content_type: str) -> dict:
        obj = json_object(body)  # bytes, text (a JSON body sent as text/*) or a decoded object
        op = obj.get("op")
        if op is None:
            raise ClientError(f"missing 'op': one of {', '.join(IMAGE_FIELDS)}")
        if not isinstance(op, str) or op not in IMAGE_FIELDS:
            raise ClientError(f"unknown 'op' {describe(op)}: one of {', '.join(IMAGE_FIELDS)}")
        mode = obj.get("face", self.face_mode)
        if mode not in FACE_MODES:
            raise ClientError(f"'face' must be one of {', '.join(FACE_MODES)}, got {describe(mode)}")
        item: dict = {"op": op, "name": self._name(obj) if op in NAMED else None}
        # one list of faces per image field: each face (box, backend input, chip for enrolls)
        item["images"] = [self._faces(obj, key, op, mode) for key in IMAGE_FIELDS[op]]
        return item

    def _faces(self, obj: dict, key: str, op: str, mode: str) -> list[dict]:
        """``obj[key]`` decoded, its faces found (or the whole image taken as one) and each made the backend's
        input at once, so that only small arrays wait for the batch."""
        from pipelines.realface.align import as_is, keepsake

        raw = base64_field(obj, key, self.max_bytes)
        if mode == "as_is":
            picture = decode_image(raw, FORMATS, self.max_bytes, self.max_pixels, min_side=self.input_size)
            faces = [as_is(picture.image)]
        else:
            picture = decode_image(raw, FORMATS, self.max_bytes, self.max_pixels,
                                   min_side=self.detect["max_side"] // 2)
            faces = self.find_faces(picture)
            FACES_PER_IMAGE.labels(service=self.service).observe(len(faces))
            if not faces:
                raise ClientError("no face found" + (f" in '{key}'" if key != "image" else ""), 422)
            if len(faces) > 1 and op in ONE_FACE:
                raise ClientError(f"{len(faces)} faces found" + (f" in '{key}'" if key != "image" else "")
                                  + f"; {ONE_FACE[op]} (crop the photo, or send the face alone)", 422,
                                  boxes=[list(f.box) for f in faces])
        return [{"box": None if mode == "as_is" else list(f.box), "input": self.backend.prepare(f),
                 "chip": _png(keepsake(f)) if op == "enroll" else None, "aligned": f.aligned} for f in faces]

    def _name(self, obj: dict) -> str:
        if "name" not in obj:
            raise ClientError("missing 'name'")
        name = obj["name"]
        if not isinstance(name, str):
            raise ClientError(f"'name' must be a string, got {describe(name)}")
        limit = self.max_name_chars
        if len(name) > 4 * limit:  # bounds the work below; NFC composes 3 code points into 1 at most
            raise ClientError(f"'name' is {len(name)} characters long; the limit is {limit}")
        # NFC: "José" precomposed and "Jose" + U+0301 are one person. Stripped: "alice " and "alice" too.
        name = unicodedata.normalize("NFC", name).strip()
        if not name:
            raise ClientError("'name' is empty")
        if len(name) > limit:
            raise ClientError(f"'name' is {len(name)} characters long; the limit is {limit}")
        for char in name:
            problem = REFUSED_IN_NAMES.get(unicodedata.category(char))
            if problem:
                raise ClientError(f"'name' contains {problem} (U+{ord(char):04X})")
        return name

    # -- prediction -------------------------------------------------------------------------------
    def predict(self, items: list[dict]) -> list[dict]:
        inputs = [face["input"] for item in items for image in item["images"] for face in image]
        vectors = np.zeros((0, 0), dtype=np.float32)
        if inputs:  # every face of the batch in one pass
            vectors = np.asarray(self.embed(inputs), dtype=np.float32)
            if vectors.ndim != 2 or len(vectors) != len(inputs) or not np.isfinite(vectors).all():
                raise RuntimeError(f"embed returned shape {vectors.shape} for {len(inputs)} faces, or non-finite")
        answers, start = [], 0
        for item in items:  # in request order: an enroll is visible to a later identify
            faces = [face for image in item["images"] for face in image]
            for face in faces:
                face["vector"] = vectors[start]
                start += 1
            answer, outcome = self._answer(item)
            self.count_operation(item["op"], outcome)
            answers.append(answer)
        return answers

    def _answer(self, item: dict) -> tuple[dict | ClientError, str]:
        """One request's answer: per face when an identify or verify image shows several."""
        op, name, images = item["op"], item["name"], item["images"]
        if images:  # every op that embeds a face compares it with, or adds it to, the gallery
            foreign = self._foreign_models()
            if foreign:
                return foreign, "wrong_model"
        run = getattr(self, f"_{op}")
        if op in ("verify", "identify") and len(images[0]) > 1:
            results = []
            for face in images[0]:
                answer, outcome = run(name, [face])
                if isinstance(answer, ClientError):
                    return answer, outcome
                answer.pop("threshold", None)
                results.append({"box": face["box"], **answer})
            matched = any(r.get("match") or r.get("name") for r in results)
            return {"faces": results, "threshold": self.threshold}, "match" if matched else "no_match"
        answer, outcome = run(name, [face for image in images for face in image])
        if isinstance(answer, dict) and op in ("enroll", "verify", "identify") and images[0][0]["box"] is not None:
            answer["box"] = images[0][0]["box"]
        if isinstance(answer, dict) and op == "compare" and images[0][0]["box"] is not None:
            answer["boxes"] = [image[0]["box"] for image in images]
        return answer, outcome

    def _foreign_models(self) -> ClientError | None:
        """409 when the gallery holds embeddings another model made: distances across models mean nothing."""
        others = {model: n for model, n in self.gallery.models().items() if model != self.backend.model_id}
        if not others:
            return None
        made = ", ".join(f"{n} by {model or 'an unrecorded model'}" for model, n in sorted(others.items(), key=str))
        return ClientError(f"the gallery holds embeddings made by another model ({made}); this service embeds "
                           f"with {self.backend.model_id}: run `dlzoo face reenroll` to embed the gallery again",
                           409)

    def _distances(self, matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
        if matrix.size == 0:
            return np.zeros(0, dtype=np.float32)
        if matrix.shape[1] != vector.shape[0]:
            raise RuntimeError(f"the gallery holds {matrix.shape[1]}-d embeddings; the model makes "
                               f"{vector.shape[0]}-d ones (a gallery from another model?)")
        return np.linalg.norm(matrix - vector, axis=1)

    def _verdict(self, distance: float | None) -> tuple[bool, float | None, str]:
        match = distance is not None and distance <= self.threshold
        return match, None if distance is None else round(float(distance), 4), "match" if match else "no_match"

    def _enroll(self, name: str, faces: list[dict]) -> tuple[dict, str]:
        face = faces[0]
        count = self.gallery.add(name, face["vector"], model=self.backend.model_id, chip=face["chip"],
                                 aligned=face["aligned"])
        return {"name": name, "images": count}, "enrolled"

    def _verify(self, name: str, faces: list[dict]) -> tuple[dict | ClientError, str]:
        _, matrix = self.gallery.embeddings(name)
        if matrix.size == 0:
            return ClientError(f"no one named {name!r} is enrolled", 404), "not_found"
        distances = self._distances(matrix, faces[0]["vector"])
        match, distance, outcome = self._verdict(float(distances.min()) if distances.size else None)
        return {"name": name, "match": match, "distance": distance, "threshold": self.threshold}, outcome

    def _identify(self, name: None, faces: list[dict]) -> tuple[dict, str]:
        names, matrix = self.gallery.embeddings()
        distances = self._distances(matrix, faces[0]["vector"])
        nearest = int(distances.argmin()) if distances.size else None
        match, distance, outcome = self._verdict(None if nearest is None else float(distances[nearest]))
        return {"name": names[nearest] if match else None, "distance": distance, "threshold": self.threshold}, outcome

    def _compare(self, name: None, faces: list[dict]) -> tuple[dict, str]:
        match, distance, outcome = self._verdict(float(np.linalg.norm(faces[0]["vector"] - faces[1]["vector"])))
        return {"match": match, "distance": distance, "threshold": self.threshold}, outcome

    def _list(self, name: None, faces: list[dict]) -> tuple[dict, str]:
        return {"names": self.gallery.names()}, "listed"

    def _delete(self, name: str, faces: list[dict]) -> tuple[dict | ClientError, str]:
        deleted = self.gallery.delete(name)
        if not deleted:
            return ClientError(f"no one named {name!r} is enrolled", 404), "not_found"
        return {"name": name, "deleted": deleted}, "deleted"

    def count_operation(self, op: str, outcome: str) -> None:
        """Custom metrics: prometheus ``dlzoo_face_operations_total{op, outcome}`` and TorchServe's counter."""
        FACE_OPERATIONS.labels(service=self.service, op=op, outcome=outcome).inc()
        self.ts_counters({f"DlzooFaceOps_{op}": 1})



def _png(chip: np.ndarray) -> bytes:
    """An aligned face as PNG bytes: what the gallery keeps so that another model can embed it again."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(chip).save(out, format="PNG")
    return out.getvalue()
