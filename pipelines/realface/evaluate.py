"""Both face backends, side by side: the synthetic protocol, and the real photographs that ship in packages.

    dlzoo backends face                  # reports/face/backends.{json,md} (the backends_face stage)
    dlzoo evaluate face --data DIR --backend dlib    # a folder of <identity>/<photo>: detect, align, embed

* Synthetic protocol: exactly the course network's evaluation (``pipelines.tasks.face``): every dev/test
  image taken whole (``as_is``: they are centred crops; dlib's HOG detector finds 33 of 200 of these drawn
  faces), balanced pairs seeded by ``face.train.seed``, the threshold frozen from dev, TAR at FAR 1e-3
  over every impostor pair, one-shot identification.
* Real photographs (:mod:`pipelines.realface.photos`): detection against the hand-drawn boxes (a detection
  is a hit when its IoU with an unmatched face box is at least 0.5, matched greedily by IoU; one over an
  ``ignore`` region counts neither way), then verification among the faces: pairs of photos of the one
  person the packages show several times, against pairs of that person with every other face.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from pipelines.data.identity_folders import load_identity_folders
from pipelines.evaluation import face as face_metrics
from pipelines.realface import align
from pipelines.realface.backends import Backend
from pipelines.realface.photos import Photo

IOU_HIT = 0.5


def embed_faces(backend: Backend, faces: list[align.Face], batch: int = 64) -> np.ndarray:
    out = [backend.embed([backend.prepare(f) for f in faces[i:i + batch]]) for i in range(0, len(faces), batch)]
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def folder_faces(folder: Path, face: str = "as_is", detect: dict | None = None,
                 progress: Callable | None = None) -> tuple[list[align.Face], np.ndarray, dict]:
    """Every image of ``folder``'s identity folders as one face (``as_is``: the whole image; ``detect``: the
    largest face found, images without one left out and counted), their identity labels, and counts."""
    identities = load_identity_folders(folder)
    faces, labels, missing = [], [], []
    for k, paths in enumerate(identities.values()):
        for path in paths:
            image = Image.open(path).convert("RGB")
            if face == "as_is":
                found = [align.as_is(image)]
            else:
                found = align.find_faces(image, **(detect or {}))
            if not found:
                missing.append(str(path))
                continue
            faces.append(found[0])
            labels.append(k)
        if progress:
            progress(1)
    counts = {"identities": len(identities), "images": len(labels) + len(missing), "no_face": len(missing)}
    return faces, np.asarray(labels), {**counts, "no_face_files": missing[:50]}


def identity_metrics(emb: np.ndarray, labels: np.ndarray, threshold: float, seed: int) -> tuple[dict, dict]:
    """The course network's evaluation (pipelines.tasks.face.FaceTask.evaluate) on any embeddings."""
    i, j, same = face_metrics.balanced_pairs(labels, seed)
    dist = face_metrics.distances(emb, i, j)
    all_i, all_j = np.triu_indices(len(labels), k=1)
    all_dist, all_same = face_metrics.distances(emb, all_i, all_j), labels[all_i] == labels[all_j]
    tar, far_threshold = face_metrics.tar_at_far(all_dist, all_same, 1e-3)
    metrics = {**face_metrics.verification(dist, same, threshold), "roc_auc": face_metrics.roc_auc(dist, same),
               "tar_at_far_1e-3": tar, "identification_top1": face_metrics.identification_top1(emb, labels),
               "identities": int(len(np.unique(labels))), "images": int(len(labels)), "pairs": int(len(same))}
    details = {"threshold_at_far_1e-3": far_threshold, "best_threshold_here": face_metrics.best_threshold(dist, same),
               "mean_distance_same": float(dist[same].mean()), "mean_distance_different": float(dist[~same].mean())}
    return metrics, details


def calibrate(backend: Backend, dev_dir: Path, seed: int) -> dict:
    """The threshold with the best verification accuracy on ``dev_dir``'s balanced pairs (as the course network's
    is chosen on its dev identities every epoch)."""
    faces, labels, counts = folder_faces(dev_dir, "as_is")
    emb = embed_faces(backend, faces)
    i, j, same = face_metrics.balanced_pairs(labels, seed)
    dist = face_metrics.distances(emb, i, j)
    threshold = face_metrics.best_threshold(dist, same)
    return {"backend": backend.name, "model_id": backend.model_id, "threshold": round(threshold, 6),
            "calibrated_on": str(dev_dir), "pairs": int(len(same)), "seed": seed,
            "dev_verification_accuracy": face_metrics.verification(dist, same, threshold)["verification_accuracy"],
            "identities": counts["identities"], "images": counts["images"]}


def score_folder(backend: Backend, folder: Path, seed: int, face: str = "as_is", detect: dict | None = None,
                 progress: Callable | None = None) -> tuple[dict, dict, dict]:
    """(metrics, details, counts) of ``folder``'s identities, one face per image, at the backend's threshold."""
    faces, labels, counts = folder_faces(folder, face, detect, progress)
    if len(np.unique(labels)) < 2:
        raise ValueError(f"face evaluate: {folder} needs at least two identities with a face found "
                         f"({counts['no_face']} of {counts['images']} images had none)")
    metrics, details = identity_metrics(embed_faces(backend, faces), labels, backend.threshold, seed)
    return metrics, details, counts


def synthetic(backend: Backend, data_dir: Path, seed: int) -> dict:
    """The synthetic test protocol for one backend, its threshold frozen."""
    metrics, details, _ = score_folder(backend, Path(data_dir) / "test", seed)
    return {**metrics, "threshold": backend.threshold, **details}


def box_iou(a: list, b: list) -> np.ndarray:
    import torch
    from torchvision.ops import box_iou as iou

    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    return iou(torch.tensor(a, dtype=torch.float64).reshape(-1, 4),
               torch.tensor(b, dtype=torch.float64).reshape(-1, 4)).numpy()


def match_boxes(found: list, truth: list, ignore: list, hit: float = IOU_HIT) -> dict:
    """Greedy by IoU: each hand box takes at most one detection. Returns hits, misses, false boxes and, per hand
    box, the index of its detection (or None)."""
    iou = box_iou(found, truth)
    taken, owner = set(), [None] * len(truth)
    pairs = sorted(((iou[d, t], d, t) for d in range(len(found)) for t in range(len(truth))), reverse=True)
    for value, d, t in pairs:
        if value < hit:
            break
        if d not in taken and owner[t] is None:
            taken.add(d)
            owner[t] = d
    leftover = [d for d in range(len(found)) if d not in taken]
    over_ignore = box_iou([found[d] for d in leftover], ignore)
    false = [d for k, d in enumerate(leftover) if not (over_ignore.shape[1] and over_ignore[k].max() >= hit)]
    return {"hits": sum(o is not None for o in owner), "misses": sum(o is None for o in owner),
            "false_boxes": len(false), "owner": owner}


def real_photos(backends: list[Backend], photos: list[Photo], detect: dict | None = None) -> tuple[dict, dict]:
    """Detection and verification on the packaged photographs, every backend on the same detected faces."""
    detection = {"photos": 0, "faces": 0, "hits": 0, "misses": 0, "false_boxes": 0}
    per_photo, faces, who = {}, [], []   # faces: the detection matched to each hand box
    for photo in photos:
        if photo.duplicate_of:  # the same picture again (another file format): counted once
            continue
        found = align.find_faces(photo.open(), **(detect or {}))
        m = match_boxes([list(f.box) for f in found], photo.faces, photo.ignore)
        for key in ("hits", "misses", "false_boxes"):
            detection[key] += m[key]
        detection["photos"] += 1
        detection["faces"] += len(photo.faces)
        per_photo[photo.id] = {"faces": len(photo.faces), "found": [list(f.box) for f in found],
                               "scores": [f.score for f in found], **{k: m[k] for k in ("hits", "misses",
                                                                                        "false_boxes")}}
        for t, d in enumerate(m["owner"]):
            if d is not None:
                faces.append(found[d])
                who.append((photo.id, t, photo.person))
    detection["recall"] = detection["hits"] / max(1, detection["faces"])
    detection["precision"] = detection["hits"] / max(1, detection["hits"] + detection["false_boxes"])
    metrics = {"detection": detection}
    details = {"per_photo": per_photo, "faces": [f"{p}#{t}" for p, t, _ in who]}
    names = [w[2] for w in who]
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    for backend in backends:
        emb = embed_faces(backend, faces)
        same, dist, pairs = [], [], []
        for a in range(len(who)):
            for b in range(a + 1, len(who)):
                # a pair counts when at least one face is of a person shown several times: then whether it is
                # the same person is known (unnamed faces are never that person)
                if names[a] not in repeated and names[b] not in repeated:
                    continue
                same.append(names[a] == names[b])
                dist.append(float(np.linalg.norm(emb[a] - emb[b])))
                pairs.append([details["faces"][a], details["faces"][b], round(dist[-1], 4)])
        same, dist = np.asarray(same, bool), np.asarray(dist)
        result = {"threshold": backend.threshold, "same_pairs": int(same.sum()), "different_pairs": int((~same).sum())}
        if same.any() and (~same).any():
            result.update(face_metrics.verification(dist, same, backend.threshold))
            result["roc_auc"] = face_metrics.roc_auc(dist, same)
            result["max_distance_same"] = float(dist[same].max())
            result["min_distance_different"] = float(dist[~same].min())
        metrics[backend.name] = result
        details[backend.name] = {"pairs": pairs}
    metrics["people_shown_several_times"] = {n: names.count(n) for n in repeated}
    return metrics, details
