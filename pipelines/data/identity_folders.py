"""Read any one-folder-per-identity image tree: LFW, VGGFace2, your own photos, or ``dlzoo data face``'s output.

    from pipelines.data.identity_folders import load_identity_folders
    load_identity_folders("data/faces/test")    # {"test_00000": [.../000.png, ...], ...}

The face task (training and ``dlzoo evaluate face --data DIR``) and the examples read folders through this
module only, so they do not depend on the synthetic face generator in ``pipelines/data/faces.py``.
"""

from __future__ import annotations

from pathlib import Path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def load_identity_folders(root: Path | str) -> dict[str, list[Path]]:
    """``{identity: sorted image paths}`` from a one-folder-per-identity tree (LFW, VGGFace2, your own photos).

    Folders without images are skipped; a missing ``root`` or one without any identity raises an error naming it.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"face data: {root} is not a directory (expected {root}/<identity>/<image>.png)")
    identities = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        images = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if images:
            identities[folder.name] = images
    if not identities:
        raise ValueError(f"face data: no identity folders with {'/'.join(IMAGE_SUFFIXES)} images in {root} "
                         f"(expected {root}/<identity>/<image>.png)")
    return identities
