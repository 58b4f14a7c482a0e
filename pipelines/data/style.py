"""Course 4 week 4's style-transfer pictures: content photos and style paintings from Debian's ``opencv-doc``
(``/usr/share/doc/opencv-doc/examples/data``, OpenCV's sample images, Apache-2.0 with the package).

    dlzoo data style                     # writes data/style/{content,style}/<name>.png from params.yaml

Each content photo is resized so its longer side is ``size`` (the course uses 400 x 300); each style picture
so its longer side is ``style_size`` (it is resized again to the content's shape when used, as the course
resizes both to one shape). Van Gogh's *The Starry Night* is the package's ``starry_night.jpg``; the package
holds no second painting, so the second style is ``smarties.png``, a photo of coloured sweets (a
pointillist texture).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

SPLITS = ("content", "style")


def load_image(path: Path, longer_side: int | None = None) -> Image.Image:
    """An RGB picture, resized (Lanczos) so its longer side is ``longer_side``; a clear error for a file that is
    missing or not an image."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        image = Image.open(path)
        image.load()
    except (OSError, Image.DecompressionBombError) as err:
        raise ValueError(f"{path} is not an image PIL can read: {err}") from err
    image = image.convert("RGB")
    if longer_side:
        scale = longer_side / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.LANCZOS)
    return image


def to_tensor(image: Image.Image) -> torch.Tensor:
    """(1, 3, H, W) float32 in [0, 1]."""
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1)[None].contiguous()


def to_image(tensor: torch.Tensor) -> Image.Image:
    array = tensor.detach().clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(np.rint(array * 255).astype(np.uint8))


def write_dataset(params: dict, out: Path, seed: int | None = None) -> dict[str, int]:
    source = Path(params["source"])
    if not source.is_dir():
        raise FileNotFoundError(f"no opencv-doc pictures in {source}: `apt-get install opencv-doc` "
                                "(bash scripts/setup.sh installs it)")
    counts = {}
    for kind, names, side in (("content", params["contents"], params["size"]),
                              ("style", params["styles"], params["style_size"])):
        folder = Path(out) / kind
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            load_image(source / name, int(side)).save(folder / f"{Path(name).stem}.png")
        counts[kind] = len(names)
    return counts


def read(data_dir: Path) -> dict[str, dict[str, torch.Tensor]]:
    """``{"content": {name: (1, 3, H, W)}, "style": {...}}`` from a folder ``write_dataset`` made (or a user's
    folder with ``content/`` and ``style/`` pictures)."""
    out = {}
    for kind in SPLITS:
        folder = Path(data_dir) / kind
        files = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
        if not files:
            raise FileNotFoundError(f"no pictures in {folder}: run `dlzoo data style` (or dvc repro)")
        out[kind] = {p.stem: to_tensor(load_image(p)) for p in files}
    return out
