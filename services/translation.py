"""Translation service: ``POST /predictions/translation`` -> ISO date.

    curl -H "Authorization: Bearer $(dlzoo serve token)" -H "Content-Type: application/json" \
         -d '{"text": "3 May 1979"}' http://127.0.0.1:8080/predictions/translation
    -> {"translation": "1979-05-03", "score": -0.0004, "beam_size": 3, "truncated": false}

Body: JSON ``{"text": str, "beam_size": int (optional)}`` or a ``text/plain`` body.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.base import BaseHandler, ClientError, json_object


class TranslationHandler(BaseHandler):
    service = "translation"

    def load(self, model_dir: Path) -> None:
        from pipelines.tasks.translation import Codec

        super().load(model_dir)
        self.codec = Codec(self.bundle["meta"], self.model.cfg.tx)
        decode = self.config.get("decode", {})
        self.beam_size = int(decode.get("beam_size", 3))
        self.length_norm = float(decode.get("length_norm", 0.7))
        self.max_chars = int(self.config.get("max_chars", 256))
        self.max_beam = int(self.config.get("max_beam_size", 10))

    def parse(self, body: Any, content_type: str) -> tuple[str, int]:
        beam = self.beam_size
        if isinstance(body, (dict, list)) or "json" in content_type.lower():
            obj = json_object(body)
            text = obj.get("text")
            if "beam_size" in obj:
                beam = obj["beam_size"]
                if isinstance(beam, bool) or not isinstance(beam, int) or not 1 <= beam <= self.max_beam:
                    raise ClientError(f"'beam_size' must be an integer from 1 to {self.max_beam}")
        elif isinstance(body, (bytes, bytearray)):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ClientError("request body is not valid UTF-8") from err
        else:
            text = body
        if not isinstance(text, str):
            raise ClientError(f"'text' must be a string, got {type(text).__name__}")
        if not text.strip():
            raise ClientError("'text' is empty")
        if len(text) > self.max_chars:
            raise ClientError(f"'text' is {len(text)} characters long; the limit is {self.max_chars}")
        return text, beam

    def predict(self, items: list[tuple[str, int]]) -> list[dict]:
        from pipelines.data.dates import normalize
        from pipelines.tasks.translation import translate

        answers: list[dict] = [{} for _ in items]
        for beam in sorted({b for _, b in items}):  # one batched decode per beam width
            idx = [i for i, (_, b) in enumerate(items) if b == beam]
            outs = translate(self.model, self.codec, [items[i][0] for i in idx], beam, self.length_norm)
            for i, (translation, score) in zip(idx, outs, strict=True):
                answers[i] = {"translation": translation, "score": round(score, 6), "beam_size": beam,
                              "truncated": len(normalize(items[i][0])) > self.codec.tx}
        return answers
