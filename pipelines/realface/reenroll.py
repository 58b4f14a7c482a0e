"""``dlzoo face reenroll``: a gallery's faces embedded again by another model, in one transaction.

    dlzoo face reenroll                     # the server's gallery, with serve.services.face.backend
    dlzoo face reenroll --gallery g.sqlite --backend course

Every row keeps the face it was made from (the 200 px aligned chip, or the crop taken as is): that face goes
through the backend again. Rows from before the gallery kept faces cannot be re-embedded: they are counted,
and deleted only with ``--drop-unrecoverable``. Rows already made by the backend's model are left alone.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from pipelines.realface import align
from pipelines.realface.backends import load_backend


def reenroll(gallery_path: Path, backend_name: str, model_file: Path, drop_unrecoverable: bool = False) -> dict:
    from services.gallery import Gallery

    if not Path(gallery_path).is_file():
        raise FileNotFoundError(f"no gallery at {gallery_path}")
    backend = load_backend(backend_name, model_file)
    gallery = Gallery(gallery_path)
    try:
        every = gallery.faces()
        rows = [r for r in every if r[2] != backend.model_id]
        todo = [r for r in rows if r[3] is not None]
        lost = [r for r in rows if r[3] is None]
        vectors = {}
        for start in range(0, len(todo), 64):
            chunk = todo[start:start + 64]
            faces = [align.Face((0, 0, 0, 0), None, np.asarray(Image.open(io.BytesIO(chip)).convert("RGB")), aligned)
                     for _, _, _, chip, aligned in chunk]
            embedded = backend.embed([backend.prepare(f) for f in faces])
            vectors.update({row[0]: vector for row, vector in zip(chunk, embedded, strict=True)})
        if vectors:
            gallery.replace(vectors, backend.model_id)
        dropped = 0
        if drop_unrecoverable:
            dropped = gallery.delete_rows([r[0] for r in lost])
        return {"gallery": str(gallery_path), "model": backend.model_id, "reembedded": len(vectors),
                "already_current": len(every) - len(rows), "unrecoverable": len(lost) - dropped, "dropped": dropped}
    finally:
        gallery.close()
