"""English -> Spanish translation service: ``POST /predictions/translation_en_es`` -> Spanish text.

    curl -H "Authorization: Bearer $(dlzoo serve token)" -H "Content-Type: application/json" \
         -d '{"text": "In the beginning, God created the heavens and the earth."}' \
         http://127.0.0.1:8080/predictions/translation_en_es
    -> 200 {"translation": "En el principio creó Dios los cielos y la tierra.", "beam_size": 4, "truncated": false}

A service of its own beside ``translation`` (dates): another model, another vocabulary and another answer
(free text, never a refusal), so its own batching, workers and metrics; the date service's contract stays as it
was. The body is the date service's (``services.fields.text_request``): JSON ``{"text": str, "beam_size":
int (optional)}`` (labelled JSON, or any body that opens with ``{``) or a ``text/plain`` body, with the same
checks (``'text' is empty``, too long, a ``beam_size`` out of range: 400 naming the field). The model is the
Transformer trained on the Bible (``c5w4_transformer_en_es``): its Spanish is the Reina-Valera's, and a modern
sentence comes back in that register. ``truncated`` is true when the text had more subword pieces than the model
reads (the rest is not translated). The decoding is ``pipelines.tasks.bible_translation.translate``, as in
evaluation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.base import BaseHandler
from services.fields import text_request


class TranslationEnEsHandler(BaseHandler):
    service = "translation_en_es"

    def load(self, model_dir: Path) -> None:
        super().load(model_dir)
        self.meta = self.bundle["meta"]
        decode = self.setting("decode")
        self.beam_size = int(decode["beam"])
        self.length_penalty = float(decode["length_penalty"])
        self.max_chars = int(self.setting("max_chars"))
        self.max_beam = int(self.setting("max_beam_size"))

    def parse(self, body: Any, content_type: str) -> tuple[str, int]:
        return text_request(body, content_type, self.beam_size, self.max_beam, self.max_chars)

    def predict(self, items: list[tuple[str, int]]) -> list[dict]:
        from pipelines.tasks.bible_translation import translate

        answers: list[dict] = [{} for _ in items]
        for beam in sorted({b for _, b in items}):  # one batched decode per beam width
            idx = [i for i, (_, b) in enumerate(items) if b == beam]
            texts = [items[i][0] for i in idx]
            spanish = translate(self.meta, self.model, texts, beam=beam, length_penalty=self.length_penalty)
            for i, (out, cut) in zip(idx, spanish, strict=True):
                answers[i] = {"translation": out, "beam_size": beam, "truncated": cut}
        return answers
