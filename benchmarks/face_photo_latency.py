"""The face service's latency on real photographs of 1 to 12 MP: decode, detect, align and embed, one core.

    taskset -c 0 python benchmarks/face_photo_latency.py          # after dvc repro (model-store/face.mar)
    taskset -c 0 python benchmarks/face_photo_latency.py --sizes 1,12 --requests 5

Each photo is a 4:3 JPEG (quality 90) of ``MP`` megapixels with a packaged real portrait (obama3.jpg) pasted
in it at a third of its height, sent as ``identify`` against a gallery of one enrolled photo (obama.jpg). The
handler runs in this process (TorchServe's mock context, the archive's service.json: one torch thread), so
the figure is the handler's own time per request; TorchServe adds its HTTP overhead (serve_latency.py).
Writes benchmarks/results/face_photo_latency.json.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import tempfile
import time
import zipfile
from pathlib import Path

from PIL import Image

from pipelines.params import load_params
from pipelines.realface.photos import load_photos
from services.face import FaceHandler
from services.mock_context import MockContext


def photo(megapixels: float, face: Image.Image) -> bytes:
    height = round((megapixels * 1e6 * 3 / 4) ** 0.5)
    width = round(height * 4 / 3)
    canvas = Image.new("RGB", (width, height), (120, 130, 125))
    scale = height / 3 / face.height
    small = face.resize((round(face.width * scale), round(face.height * scale)))
    canvas.paste(small, (width * 2 // 3, height // 2))
    buf = io.BytesIO()
    canvas.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mar", default=None, help="the face archive (default: <serve.store>/face.mar)")
    parser.add_argument("--sizes", default="1,3,6,12", help="megapixels, comma-separated")
    parser.add_argument("--requests", type=int, default=10, help="requests per size")
    parser.add_argument("--out", default="benchmarks/results/face_photo_latency.json")
    args = parser.parse_args()
    params = load_params("params.yaml")
    mar = Path(args.mar or Path(params["serve"]["store"]) / "face.mar")
    photos = {p.id: p.open() for p in load_photos() if p.id in ("obama", "obama3")}
    result: dict = {"mar": str(mar), "requests": args.requests, "sizes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        zipfile.ZipFile(mar).extractall(tmp)
        config = json.loads((Path(tmp) / "service.json").read_text())
        config["gallery"] = str(Path(tmp) / "gallery.sqlite")
        (Path(tmp) / "service.json").write_text(json.dumps(config))
        handler = FaceHandler()
        handler.initialize(MockContext(tmp))
        result["backend"] = handler.backend.model_id

        def call(body: dict) -> dict:
            ctx = MockContext(tmp, [{"Content-Type": "application/json"}])
            return json.loads(handler.handle([{"body": json.dumps(body).encode()}], ctx)[0])

        buf = io.BytesIO()
        photos["obama"].save(buf, format="JPEG", quality=90)
        call({"op": "enroll", "name": "obama", "image": base64.b64encode(buf.getvalue()).decode()})
        for mp in (float(s) for s in args.sizes.split(",")):
            body = {"op": "identify", "image": base64.b64encode(photo(mp, photos["obama3"])).decode()}
            answer = call(body)  # warm-up, and the answer checked
            times = []
            for _ in range(args.requests):
                t0 = time.perf_counter()
                call(body)
                times.append(time.perf_counter() - t0)
            times.sort()
            result["sizes"][f"{mp:g}MP"] = {"p50_ms": round(1000 * times[len(times) // 2], 1),
                                            "max_ms": round(1000 * times[-1], 1), "answer": answer}
            print(f"{mp:g} MP: p50 {1000 * times[len(times) // 2]:.0f} ms, max {1000 * times[-1]:.0f} ms -> {answer}",
                  flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
