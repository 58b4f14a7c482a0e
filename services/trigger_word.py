"""Trigger-word service: ``POST /predictions/trigger_word`` with a WAV -> when "activate" was said.

    curl -H "Authorization: Bearer $(dlzoo serve token)" -H "Content-Type: audio/wav" \
         --data-binary @clip.wav http://127.0.0.1:8080/predictions/trigger_word
    -> {"duration_s": 10.0, "sample_rate": 44100, "activations": [{"time_s": 3.42, "confidence": 0.97}]}

Body: a WAV file (PCM 8/16/24/32-bit or float, mono or stereo, 8-48 kHz, up to ``max_seconds``), or JSON
``{"audio": <base64 WAV>, "chime": true}``, which also returns ``"audio"``: the input with a chime at
each activation (base64 16-bit WAV at the input's rate), as the course's notebook does. ``time_s`` is
when the word ended. Audio is resampled to the model's rate and goes through the training code's own
spectrogram. Not a WAV, a corrupt header, no samples, too long, shorter than the network's receptive
field (``min_seconds``: the first output step needs ``kernel`` spectrogram frames, 0.14 s for the course's
model), an unsupported encoding, a ``chime`` that is not true or false -> 400, alone or in a batch.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client import Counter

from services.base import BaseHandler, ClientError, is_json_body, json_object
from services.fields import base64_field, describe

AUDIO_SECONDS = Counter("dlzoo_audio_seconds", "Seconds of audio processed", ["service"])
ACTIVATIONS = Counter("dlzoo_activations", "Trigger words detected", ["service"])
CHIME_S = 0.3


def chime(rate: int) -> np.ndarray:
    """A short two-tone bell (880 + 1320 Hz) with an exponential decay."""
    t = np.arange(int(CHIME_S * rate)) / rate
    return (0.35 * (np.sin(2 * np.pi * 880 * t) + 0.5 * np.sin(2 * np.pi * 1320 * t)) * np.exp(-t * 12)).astype(
        np.float32)


def with_chimes(samples: np.ndarray, rate: int, times: list[float]) -> np.ndarray:
    out = samples.astype(np.float32).copy()
    bell = chime(rate)
    for t in times:
        start = int(round(t * rate))
        end = min(len(out), start + len(bell))
        if start < end:
            out[start:end] += bell[: end - start]
    return np.clip(out, -1.0, 1.0)


class TriggerWordHandler(BaseHandler):
    service = "trigger_word"

    def load(self, model_dir: Path) -> None:
        from pipelines.tasks.trigger_word import feature_params

        super().load(model_dir)
        params = self.bundle["params"]
        # the model that backs the service (the course's network or the wake-word detector) says how audio
        # becomes detections: its task's detect(), the very code evaluation runs
        self.task = self.task_class()(params, self.bundle["meta"])
        self.features = feature_params(params)
        self.threshold = float(self.bundle["meta"]["threshold"])
        self.max_seconds = float(self.setting("max_seconds"))
        self.max_bytes = int(self.setting("max_bytes"))
        self.min_samples = self.task.min_samples(self.model)
        self.min_seconds = self.min_samples / self.features["sample_rate"]

    def parse(self, body: Any, content_type: str) -> dict:
        chime_wanted = False
        if is_json_body(body, content_type):
            obj = json_object(body)
            raw = base64_field(obj, "audio", self.max_bytes)
            chime_wanted = obj.get("chime", False)
            if not isinstance(chime_wanted, bool):
                raise ClientError(f"'chime' must be true or false, got {describe(chime_wanted)}")
        elif isinstance(body, (bytes, bytearray)):
            raw = bytes(body)
        else:
            raise ClientError('send a WAV file as the request body, or JSON {"audio": <base64 WAV>}')
        return {**self.decode(raw), "chime": chime_wanted}

    def decode(self, raw: bytes) -> dict:
        from pipelines.data.audio import TooLong, decode_wav, resample

        if not raw:
            raise ClientError("the body is empty: send a WAV file")
        if len(raw) > self.max_bytes:
            raise ClientError(f"the audio is {len(raw)} bytes; the limit is {self.max_bytes}", 413)
        try:
            samples, rate = decode_wav(raw, self.max_seconds)
        except TooLong as err:
            raise ClientError(str(err)) from err
        except ValueError as err:
            raise ClientError(f"not a WAV file this service reads: {err}") from err
        if not np.isfinite(samples).all():
            raise ClientError("the WAV file holds NaN or infinite samples")
        model_audio = resample(samples, rate, self.features["sample_rate"])
        if len(model_audio) < self.min_samples:
            raise ClientError(f"the audio is {1000 * len(samples) / rate:.1f} ms long; the model needs at least "
                              f"{1000 * self.min_seconds:.1f} ms")
        return {"samples": samples, "rate": rate, "duration_s": len(samples) / rate, "model_audio": model_audio}

    def predict(self, items: list[dict]) -> list[dict]:
        from pipelines.data.audio import encode_wav

        found = self.task.detect(self.model, [it["model_audio"] for it in items])
        answers = []
        for item, activations in zip(items, found, strict=True):
            AUDIO_SECONDS.labels(service=self.service).inc(item["duration_s"])
            ACTIVATIONS.labels(service=self.service).inc(len(activations))
            self.ts_counters({"DlzooAudioSeconds": item["duration_s"], "DlzooActivations": len(activations)})
            answer = {"duration_s": round(item["duration_s"], 3), "sample_rate": item["rate"],
                      "activations": activations, "threshold": self.threshold}
            if item["chime"]:
                audio = with_chimes(item["samples"], item["rate"], [a["time_s"] for a in activations])
                answer["audio"] = base64.b64encode(encode_wav(audio, item["rate"])).decode()
            answers.append(answer)
        return answers
