"""The trigger-word service through a real TorchServe (smoke model): a synthesized clip with "activate"
from a held-out voice, WAV and JSON-with-chime bodies, 400 JSON for bad audio without worker restarts."""

import base64
import io
import wave

import pytest
import requests

from pipelines.data.audio import encode_wav
from pipelines.data.trigger_word.clips import spoken_clip

pytestmark = pytest.mark.integration


def post(server, body=None, headers=None, **kw):
    return requests.post(f"{server.inference_url}/predictions/trigger_word", data=body,
                         headers={**(headers or {}), **server.auth()}, timeout=60, **kw)


@pytest.fixture(scope="module")
def clip():
    samples = spoken_clip([("activate", 3.0), ("coffee", 5.0), ("activate", 7.0)], "en-gb-scotland+m3", rate=22050)
    return encode_wav(samples, 22050)


def test_a_wav_clip_is_answered(served, clip):
    r = post(served, clip, {"Content-Type": "audio/wav"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["duration_s"] == 10.0 and body["sample_rate"] == 22050
    assert all(0 <= a["time_s"] <= 10 and 0 <= a["confidence"] <= 1 for a in body["activations"])


def test_json_with_chime_returns_the_audio(served, clip):
    r = post(served, json={"audio": base64.b64encode(clip).decode(), "chime": True})
    assert r.status_code == 200, r.text
    with wave.open(io.BytesIO(base64.b64decode(r.json()["audio"]))) as w:
        assert w.getframerate() == 22050 and w.getnframes() == 10 * 22050


def worker_pids(server):
    r = requests.get(f"{server.management_url}/models/trigger_word", headers=server.auth("management"), timeout=10)
    return sorted(w["pid"] for w in r.json()[0]["workers"])


def test_bad_audio_gets_400_json_and_the_worker_stays(served, clip):
    before = worker_pids(served)
    for body, ctype in [(b"", "audio/wav"), (b"RIFF....WAVE", "audio/wav"), (clip[:40], "audio/wav"),
                        (b"ID3 an mp3 file", "audio/mpeg"), (b'{"audio": "@@"}', "application/json"),
                        (encode_wav([0.0] * (61 * 8000), 8000), "audio/wav")]:
        r = post(served, body, {"Content-Type": ctype})
        assert r.status_code == 400, (body[:20], r.text)
        assert r.json()["error"]
    assert worker_pids(served) == before
