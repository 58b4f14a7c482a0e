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

Images are base64 JPEG or PNG (a ``data:`` URL works too). Embeddings are L2-normalised; a distance
is Euclidean, and ``match`` means ``distance <= threshold``, the threshold the model was calibrated
with (it travels in ``model.pt``). ``verify`` takes the nearest of the name's enrolled images;
``identify`` answers the nearest enrolled image's name, or ``null`` when none is within the threshold.

The gallery is one SQLite file shared by every worker (``services.gallery``): the path is
``$DLZOO_FACE_GALLERY``, else ``"gallery"`` in service.json, else ``<model dir>/gallery.sqlite``
(which TorchServe discards with the model: a warning says so).

Names are Unicode NFC-normalised and stripped, so "José" typed precomposed or with a combining accent is
one person; a name with control characters or invisible ones (format characters such as zero-width
spaces and joiners, bidi overrides and the BOM; private-use, unassigned, line and paragraph separators)
is refused, since two names that look the same must be the same name.

A bad body, op, name or image answers ``400 {"error": ...}`` (images: more than ``max_pixels``, default
24 MP, on the header); verify or delete of a name nobody enrolled answers 404.

Memory: each image is resized to the network's input (``input_size`` square, the resize ``embed`` would
do) as soon as it is decoded (``parse``; a JPEG is decoded at a reduced scale to begin with), so a batch
holds ``batch_size x 2`` small images (37 KB each at 96 px), plus, while one request is parsed, its
full-size decode: at most ``max_pixels x 8`` bytes (~190 MB for a 24 MP RGBA PNG, converted once; a 24 MP
JPEG ~1.5 MB).

One dynamic batch is embedded in one forward pass, then its requests are applied in order against
the gallery: an enroll is visible to a later verify or identify of the same batch, a delete to a
later verify.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client import Counter

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

FACE_OPERATIONS = Counter("dlzoo_face_operations", "Face operations answered, by op and outcome",
                          ["service", "op", "outcome"])


class FaceHandler(BaseHandler):
    service = "face"

    def load(self, model_dir: Path) -> None:
        super().load(model_dir)
        self.configure(model_dir)

    def configure(self, model_dir: Path) -> None:
        """Everything but the network: threshold and input size (from ``self.bundle``), limits, the gallery."""
        self.threshold = float(self.bundle["meta"]["threshold"])
        self.input_size = int(self.bundle["config"]["input_size"])
        self.max_bytes = int(self.setting("max_bytes"))
        self.max_pixels = int(self.setting("max_pixels"))
        self.max_name_chars = int(self.setting("max_name_chars"))
        self.gallery = Gallery(self.gallery_path(model_dir))
        log.info("dlzoo face gallery: %s (%d names)", self.gallery.path, len(self.gallery.names()))

    def gallery_path(self, model_dir: Path) -> Path:
        """``$DLZOO_FACE_GALLERY``, else service.json's ``gallery``, else ``<model_dir>/gallery.sqlite``."""
        configured = os.environ.get("DLZOO_FACE_GALLERY") or self.config.get("gallery")
        if configured:
            return Path(os.path.expanduser(str(configured)))
        path = Path(model_dir) / "gallery.sqlite"
        log.warning("dlzoo face: no DLZOO_FACE_GALLERY nor 'gallery' in service.json; enrolled faces go to %s, "
                    "which is not persistent (TorchServe deletes the model dir on unregister)", path)
        return path

    def embed(self, images: list) -> np.ndarray:
        """PIL images -> L2-normalised float32 embeddings, one row each (overridden in tests)."""
        from pipelines.tasks.face import embed

        return embed(self.model, images)

    # -- input ------------------------------------------------------------------------------------
    def parse(self, body: Any, content_type: str) -> dict:
        obj = json_object(body)  # bytes, text (a JSON body sent as text/*) or a decoded object
        op = obj.get("op")
        if op is None:
            raise ClientError(f"missing 'op': one of {', '.join(IMAGE_FIELDS)}")
        if not isinstance(op, str) or op not in IMAGE_FIELDS:
            raise ClientError(f"unknown 'op' {describe(op)}: one of {', '.join(IMAGE_FIELDS)}")
        item: dict = {"op": op, "name": self._name(obj) if op in NAMED else None}
        item["images"] = [self._image(obj, key) for key in IMAGE_FIELDS[op]]
        return item

    def _image(self, obj: dict, key: str):
        """``obj[key]`` decoded and resized to the network's input at once (what ``embed`` would do)."""
        from PIL import Image

        picture = decode_image(base64_field(obj, key, self.max_bytes), FORMATS, self.max_bytes, self.max_pixels,
                               min_side=self.input_size)
        return picture.image.resize((self.input_size, self.input_size), Image.Resampling.BILINEAR)

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
        images = [image for item in items for image in item["images"]]
        vectors = np.zeros((0, 0), dtype=np.float32)
        if images:  # the whole batch in one forward pass
            vectors = np.asarray(self.embed(images), dtype=np.float32)
            if vectors.ndim != 2 or len(vectors) != len(images) or not np.isfinite(vectors).all():
                raise RuntimeError(f"embed returned shape {vectors.shape} for {len(images)} images, or non-finite")
        answers, start = [], 0
        for item in items:  # in request order: an enroll is visible to a later identify
            probe = vectors[start:start + len(item["images"])]
            start += len(item["images"])
            answer, outcome = getattr(self, f"_{item['op']}")(item["name"], probe)
            self.count_operation(item["op"], outcome)
            answers.append(answer)
        return answers

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

    def _enroll(self, name: str, probe: np.ndarray) -> tuple[dict, str]:
        return {"name": name, "images": self.gallery.add(name, probe[0])}, "enrolled"

    def _verify(self, name: str, probe: np.ndarray) -> tuple[dict | ClientError, str]:
        _, matrix = self.gallery.embeddings(name)
        if matrix.size == 0:
            return ClientError(f"no one named {name!r} is enrolled", 404), "not_found"
        distances = self._distances(matrix, probe[0])
        match, distance, outcome = self._verdict(float(distances.min()) if distances.size else None)
        return {"name": name, "match": match, "distance": distance, "threshold": self.threshold}, outcome

    def _identify(self, name: None, probe: np.ndarray) -> tuple[dict, str]:
        names, matrix = self.gallery.embeddings()
        distances = self._distances(matrix, probe[0])
        nearest = int(distances.argmin()) if distances.size else None
        match, distance, outcome = self._verdict(None if nearest is None else float(distances[nearest]))
        return {"name": names[nearest] if match else None, "distance": distance, "threshold": self.threshold}, outcome

    def _compare(self, name: None, probe: np.ndarray) -> tuple[dict, str]:
        match, distance, outcome = self._verdict(float(np.linalg.norm(probe[0] - probe[1])))
        return {"match": match, "distance": distance, "threshold": self.threshold}, outcome

    def _list(self, name: None, probe: np.ndarray) -> tuple[dict, str]:
        return {"names": self.gallery.names()}, "listed"

    def _delete(self, name: str, probe: np.ndarray) -> tuple[dict | ClientError, str]:
        deleted = self.gallery.delete(name)
        if not deleted:
            return ClientError(f"no one named {name!r} is enrolled", 404), "not_found"
        return {"name": name, "deleted": deleted}, "deleted"

    def count_operation(self, op: str, outcome: str) -> None:
        """Custom metrics: prometheus ``dlzoo_face_operations_total{op, outcome}`` and TorchServe's counter."""
        FACE_OPERATIONS.labels(service=self.service, op=op, outcome=outcome).inc()
        self.ts_counters({f"DlzooFaceOps_{op}": 1})

