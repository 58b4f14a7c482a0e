"""Translation service: ``POST /predictions/translation`` -> ISO date, or a refusal.

    curl -H "Authorization: Bearer $(dlzoo serve token)" -H "Content-Type: application/json" \
         -d '{"text": "3 May 1979"}' http://127.0.0.1:8080/predictions/translation
    -> 200 {"translation": "1979-05-03", "score": -0.0004, "beam_size": 3, "truncated": false}
    -d '{"text": "31 February 2020"}'
    -> 422 {"error": "not a date", "reason": "2020-02-31 is not a calendar date: February 2020 has 29 days",
            "text": "31 February 2020"}

Body: JSON ``{"text": str, "beam_size": int (optional)}`` (labelled JSON, or any body that opens with ``{``,
as for every service) or a ``text/plain`` body.

A text the model does not read as a date is refused with ``422 {"error": "not a date", "reason": str,
"text": <the input>}``; ``reason`` is one of "the model reads no date in it", "<YYYY-MM-DD> is not a
calendar date: ..." or "no confident reading: ..." (a score below the threshold chosen on dev, read from
the model's meta). The decision is ``pipelines.tasks.translation.read_dates``, as in evaluation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.base import BaseHandler, ClientError
from services.fields import text_request

NOT_A_DATE = "not a date"


class TranslationHandler(BaseHandler):
    service = "translation"

    def load(self, model_dir: Path) -> None:
        from pipelines.tasks.translation import Codec

        super().load(model_dir)
        self.codec = Codec(self.bundle["meta"], self.model.cfg.tx)
        self.threshold = self.bundle["meta"].get("threshold")  # None (no score test) for a model without one
        decode = self.setting("decode")
        self.beam_size = int(decode["beam_size"])
        self.length_norm = float(decode["length_norm"])
        self.max_chars = int(self.setting("max_chars"))
        self.max_beam = int(self.setting("max_beam_size"))

    def parse(self, body: Any, content_type: str) -> tuple[str, int]:
        return text_request(body, content_type, self.beam_size, self.max_beam, self.max_chars)

    def predict(self, items: list[tuple[str, int]]) -> list[dict | ClientError]:
        from pipelines.data.dates import normalize
        from pipelines.tasks.translation import read_dates

        answers: list[dict | ClientError] = [{} for _ in items]
        for beam in sorted({b for _, b in items}):  # one batched decode per beam width
            idx = [i for i, (_, b) in enumerate(items) if b == beam]
            readings = read_dates(self.model, self.codec, [items[i][0] for i in idx], beam, self.length_norm,
                                  self.threshold)
            for i, reading in zip(idx, readings, strict=True):
                text = items[i][0]
                if reading.date is None:
                    answers[i] = ClientError(NOT_A_DATE, 422, reason=reading.refusal, text=text)
                else:
                    answers[i] = {"translation": reading.date, "score": round(reading.score, 6), "beam_size": beam,
                                  "truncated": len(normalize(text)) > self.codec.tx}
        return answers
