"""Object detection service: ``POST /predictions/detection`` -> labelled boxes in the image's pixels.

    curl -H "Authorization: Bearer $(dlzoo serve token)" --data-binary @street.jpg \
         http://127.0.0.1:8080/predictions/detection
    -> {"width": 480, "height": 320, "detections": [{"label": "car", "score": 0.93, "box": [x1, y1, x2, y2]}]}

Body: raw image bytes (JPEG, PNG, BMP, WebP), or JSON ``{"image": <base64>, "score_threshold": 0.3,
"iou_threshold": 0.45, "max_detections": 100}`` (every field but ``image`` optional). Dynamic
batching runs a batch of requests in one forward pass, each decoded with its own thresholds.
Not an image, a truncated or zero-size one, more than ``max_pixels`` pixels (default 24 MP, checked on
the header: a decompression bomb) or a bad threshold answers ``400 {"error": ...}``; a body over
``max_bytes`` answers 413.

Memory: each image is shrunk as soon as it is decoded (``parse``) to the largest letterbox the network
runs at (``max(decode.input_size)`` px on its longer side, the very resize the letterbox would do; a JPEG
is decoded at a reduced scale to begin with), and the boxes are scaled back to the client's pixels. A
batch of ``batch_size`` images therefore holds ``batch_size x side^2 x 4`` bytes of pixels (2 MB for 8
images at 256 px; PIL keeps 4 bytes a pixel), plus, while one request is parsed, its full-size decode: at
most ``max_pixels x 8`` bytes (~190 MB for a 24 MP RGBA PNG, converted once; a 24 MP JPEG ~6 MB).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from services.base import BaseHandler, ClientError, is_json_body, json_object
from services.fields import base64_field, describe
from services.images import FORMATS, decode_image


class DetectionHandler(BaseHandler):
    service = "detection"

    def load(self, model_dir: Path) -> None:
        super().load(model_dir)
        self.categories = list(self.bundle["meta"]["categories"])
        decode = self.setting("decode")
        self.score_threshold = float(decode["score_threshold"])
        self.iou_threshold = float(decode["iou_threshold"])
        self.max_detections = int(decode["max_detections"])
        from pipelines.tasks.detection import check_input_size

        self.input_size = check_input_size(self.model.cfg, decode.get("input_size"))  # a bad config fails the load
        self.max_detections_limit = int(self.setting("max_detections"))
        self.max_bytes = int(self.setting("max_bytes"))
        self.max_pixels = int(self.setting("max_pixels"))
        self.side = max(self.input_size)  # the largest letterbox: what an image is shrunk to

    # -- input ------------------------------------------------------------------------------------
    def _number(self, obj: dict, key: str, default: float, low: float, high: float, integer: bool = False):
        if key not in obj:
            return default
        value = obj[key]
        kind = int if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
            what = "an integer" if integer else "a number"
            raise ClientError(f"{key!r} must be {what} from {low} to {high}, got {describe(value)}")
        return value

    def parse(self, body: Any, content_type: str) -> dict:
        settings = {"score_threshold": self.score_threshold, "iou_threshold": self.iou_threshold,
                    "max_detections": self.max_detections}
        if is_json_body(body, content_type):
            obj = json_object(body)
            raw = base64_field(obj, "image", self.max_bytes)
            settings["score_threshold"] = float(self._number(obj, "score_threshold", self.score_threshold, 0.0, 1.0))
            settings["iou_threshold"] = float(self._number(obj, "iou_threshold", self.iou_threshold, 0.0, 1.0))
            settings["max_detections"] = self._number(obj, "max_detections", self.max_detections, 1,
                                                      self.max_detections_limit, integer=True)
        elif isinstance(body, (bytes, bytearray)):
            raw = bytes(body)
        else:
            raise ClientError("send the image file as the request body, or JSON {\"image\": <base64>}")
        picture = decode_image(raw, FORMATS, self.max_bytes, self.max_pixels, min_side=self.side)
        return {"image": self.shrink(picture.image), "size": picture.size, **settings}

    def shrink(self, image):
        """``image`` resized as the largest letterbox would resize it, when that makes it smaller."""
        from PIL import Image

        from pipelines.models.yolo import Letterbox

        if max(image.size) <= self.side:
            return image
        box = Letterbox.fit(image.width, image.height, self.side)
        return image.resize((box.new_width, box.new_height), Image.Resampling.BILINEAR)

    # -- prediction -------------------------------------------------------------------------------
    def predict(self, items: list[dict]) -> list[dict]:
        from pipelines.tasks.detection import detect

        results = detect(self.model, [it["image"] for it in items],
                         [it["score_threshold"] for it in items], [it["iou_threshold"] for it in items],
                         [it["max_detections"] for it in items], batch_size=len(items), input_size=self.input_size)
        answers = []
        for item, res in zip(items, results, strict=True):
            width, height = item["size"]
            scale = np.array([width / item["image"].width, height / item["image"].height] * 2)
            detections = [{"label": self.categories[int(label)], "score": round(float(score), 4),
                           "box": [round(float(v), 1) for v in box * scale]}
                          for box, score, label in zip(res["boxes"], res["scores"], res["labels"], strict=True)]
            self.count_detections(detections)
            answers.append({"width": width, "height": height, "detections": detections})
        return answers

    def count_detections(self, detections: list[dict]) -> None:
        """Custom metrics: detections per image (histogram) and per class (counter)."""
        from services import metrics as request_metrics

        labels = [d["label"] for d in detections]
        request_metrics.observe_detections(self.service, labels)
        per_class = {f"DlzooDetections_{label}": labels.count(label) for label in sorted(set(labels))}
        self.ts_counters({"DlzooDetections": len(detections), **per_class})
