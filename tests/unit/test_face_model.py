"""FaceNet pieces: the network's shape and norm, triplet loss and mining on hand-made embeddings,
threshold selection, verification/identification metrics, and the P x K batches."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pipelines.evaluation import face as fm
from pipelines.models.facenet import FaceNet, FaceNetConfig, cosface_loss, triplet_loss
from pipelines.tasks.face import augment, collate_identities, embed, occlude, zoom


@pytest.mark.parametrize("stem", ["pool", "stride"])
def test_embeddings_are_unit_vectors_of_the_configured_size(stem):
    model = FaceNet(FaceNetConfig(width=0.5, embedding_dim=32, stem=stem)).eval()
    assert model.stem(torch.rand(1, 3, 96, 96)).shape[-2:] == (24, 24)  # both stems reduce 4x
    out = model(torch.rand(3, 3, 96, 96))
    assert out.shape == (3, 32)
    assert torch.allclose(out.norm(dim=1), torch.ones(3), atol=1e-5)


def test_an_unknown_stem_is_refused_by_name():
    with pytest.raises(ValueError, match="face.model.stem"):
        FaceNet(FaceNetConfig(stem="deep"))


def unit(*rows):
    return F.normalize(torch.tensor(rows, dtype=torch.float32), dim=1)


def test_flip_averaged_embeddings_are_unit_vectors_that_ignore_the_mirror():
    torch.manual_seed(0)
    model = FaceNet(FaceNetConfig(input_size=32, width=0.25)).eval()
    faces = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    faces[:, :, :, :12] = 255  # lopsided, so that the mirror image differs a lot
    both = embed(model, faces, batch_size=3)
    assert both.shape == (4, model.cfg.embedding_dim)
    assert np.allclose(np.linalg.norm(both, axis=1), 1, atol=1e-5)
    assert np.abs(both - embed(model, faces.flip(-1))).max() < 1e-6      # a face and its mirror: one vector
    plain = embed(model, faces, flip=False)                               # without the flip they differ
    assert np.abs(plain - embed(model, faces.flip(-1), flip=False)).max() > 1e-4


def test_zoomed_views_enlarge_about_the_centre_and_join_the_embedding():
    square = torch.zeros(1, 3, 32, 32)
    square[..., 12:20, 12:20] = 1.0                                       # an 8 px square in the middle
    assert torch.equal(zoom(square, 1.0), square)
    assert zoom(square, 2.0).mean() == pytest.approx(4 * square.mean().item(), rel=0.1)  # twice the side
    torch.manual_seed(0)
    model = FaceNet(FaceNetConfig(input_size=32, width=0.25, embed_scales=(0.9, 1.0, 1.1))).eval()
    faces = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    multi = embed(model, faces, batch_size=3)                             # the config's zooms by default
    assert np.allclose(np.linalg.norm(multi, axis=1), 1, atol=1e-5)
    assert np.abs(multi - embed(model, faces.flip(-1))).max() < 1e-6     # still blind to the mirror
    assert np.abs(multi - embed(model, faces, scales=(1.0,))).max() > 1e-4


def test_batch_hard_picks_the_farthest_positive_and_the_closest_negative():
    # identity 0: a (0 deg), p1 (10 deg), p2 (60 deg); identity 1: n1 (40 deg), n2 (170 deg)
    ang = np.radians([0, 10, 60, 40, 170])
    emb = unit(*[[np.cos(a), np.sin(a)] for a in ang])
    labels = torch.tensor([0, 0, 0, 1, 1])
    loss, stats = triplet_loss(emb, labels, margin=0.2, mining="batch_hard")
    d = lambda i, j: float(((emb[i] - emb[j]) ** 2).sum())  # noqa: E731
    expected_anchor0 = max(d(0, 2) - d(0, 3) + 0.2, 0)  # hardest positive p2, closest negative n1
    assert expected_anchor0 > 0
    per_anchor = []
    for a in range(5):
        pos = [d(a, j) for j in range(5) if j != a and labels[j] == labels[a]]
        neg = [d(a, j) for j in range(5) if labels[j] != labels[a]]
        per_anchor.append(max(max(pos) - min(neg) + 0.2, 0))
    assert per_anchor[0] == pytest.approx(expected_anchor0)
    assert float(loss) == pytest.approx(np.mean(per_anchor), rel=1e-5)
    assert stats["active"] == pytest.approx(np.mean([p > 0 for p in per_anchor]))


def test_semi_hard_prefers_the_closest_negative_beyond_the_positive():
    # anchor 0, positive at 30 deg; negatives at 20 deg (harder than the positive) and 50 deg (semi-hard)
    ang = np.radians([0, 30, 20, 50])
    emb = unit(*[[np.cos(a), np.sin(a)] for a in ang])
    labels = torch.tensor([0, 0, 1, 1])
    loss, _ = triplet_loss(emb, labels, margin=0.2, mining="semi_hard")
    d = lambda i, j: float(((emb[i] - emb[j]) ** 2).sum())  # noqa: E731
    # pair (0, 1): semi-hard negative for anchor 0 is index 3 (d > d(0, 1)), not index 2
    pair01 = max(d(0, 1) - d(0, 3) + 0.2, 0)
    # pair (1, 0): from anchor 1, d(1,0) is the positive; negatives 2 (10 deg away) and 3 (20 deg): both closer
    # than the positive (30 deg), so it falls back to the farthest negative, index 3.
    pair10 = max(d(1, 0) - d(1, 3) + 0.2, 0)
    assert float(loss) == pytest.approx((pair01 + pair10) / 2, rel=1e-5)


def test_well_separated_identities_cost_nothing_and_bad_batches_are_refused():
    emb = unit([1, 0], [0.99, 0.05], [-1, 0], [-0.99, -0.05])
    labels = torch.tensor([0, 0, 1, 1])
    for mining in ("batch_hard", "semi_hard"):
        assert float(triplet_loss(emb, labels, 0.2, mining)[0]) == 0.0
    with pytest.raises(ValueError, match="two images"):
        triplet_loss(emb, torch.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="mining"):
        triplet_loss(emb, labels, mining="random")


def test_cosface_loss_matches_its_formula_and_the_classifier_is_optional():
    cos = torch.tensor([[0.9, 0.1, -0.2], [0.3, 0.5, 0.4]])
    labels = torch.tensor([0, 2])
    logits = 30 * (cos - 0.35 * F.one_hot(labels, 3))
    assert float(cosface_loss(cos, labels, 30, 0.35)) == pytest.approx(float(F.cross_entropy(logits, labels)))
    # The margin makes a correct but close call cost more than without it.
    assert float(cosface_loss(cos, labels, 30, 0.35)) > float(cosface_loss(cos, labels, 30, 0.0))
    model = FaceNet(FaceNetConfig(width=0.5, embedding_dim=16, train_identities=7)).eval()
    emb = model(torch.rand(2, 3, 96, 96))
    cosine = model.identity_logits(emb)
    assert cosine.shape == (2, 7) and float(cosine.detach().abs().max()) <= 1 + 1e-5
    with pytest.raises(ValueError, match="train_identities"):
        FaceNet(FaceNetConfig(width=0.5)).identity_logits(emb)


def test_balanced_pairs_are_balanced_and_cover_every_positive():
    labels = np.repeat(np.arange(6), 4)
    i, j, same = fm.balanced_pairs(labels, seed=0)
    assert same.sum() == (~same).sum() == 6 * 6  # C(4, 2) per identity
    assert (labels[i] == labels[j]).tolist() == same.tolist()
    again = fm.balanced_pairs(labels, seed=0)
    assert all((a == b).all() for a, b in zip((i, j, same), again, strict=True))


def test_best_threshold_separates_the_two_groups():
    dist = np.array([0.2, 0.3, 0.5, 0.9, 1.1, 1.3])
    same = np.array([True, True, True, False, False, False])
    t = fm.best_threshold(dist, same)
    assert t == pytest.approx(0.7)
    assert fm.verification(dist, same, t)["verification_accuracy"] == 1.0
    assert fm.roc_auc(dist, same) == 1.0
    # one impostor among the genuine pairs: accuracy 5/6 whatever the threshold between them
    same2 = np.array([True, False, True, False, True, False])
    assert fm.verification(dist, same2, fm.best_threshold(dist, same2))["verification_accuracy"] == pytest.approx(4 / 6)
    assert fm.roc_auc(dist, same2) == pytest.approx(6 / 9)


def test_tar_at_far_never_exceeds_the_allowed_false_accepts():
    rng = np.random.default_rng(0)
    dist = np.concatenate([rng.normal(0.5, 0.1, 1000), rng.normal(1.2, 0.1, 5000)])
    same = np.concatenate([np.ones(1000, bool), np.zeros(5000, bool)])
    tar, threshold = fm.tar_at_far(dist, same, 1e-3)
    assert np.mean(dist[~same] <= threshold) <= 1e-3
    assert tar > 0.99


def test_identification_uses_one_enrolled_image_per_identity():
    emb = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [0.8, 0.3]], dtype=np.float32)
    labels = np.array([0, 0, 1, 1, 1])
    # gallery: rows 0 (id 0) and 2 (id 1); probes 1 (id 0, right), 3 (id 1, right), 4 (id 1, nearer id 0: wrong)
    assert fm.identification_top1(emb, labels) == pytest.approx(2 / 3)


def test_pk_batches_and_augmentation_keep_shapes():
    batch = collate_identities([(torch.zeros(4, 3, 96, 96, dtype=torch.uint8), 3),
                                (torch.ones(4, 3, 96, 96, dtype=torch.uint8), 7)])
    assert batch["images"].shape == (8, 3, 96, 96) and batch["labels"].tolist() == [3] * 4 + [7] * 4
    cfg = {"flip": 0.5, "rotate_deg": 8, "scale": 0.08, "translate": 0.06, "brightness": 0.2, "contrast": 0.2}
    torch.manual_seed(0)
    images = torch.rand(8, 3, 96, 96)
    out = augment(images, cfg)
    assert out.shape == images.shape and 0 <= out.min() and out.max() <= 1
    zero = {k: 0.0 for k in cfg}
    assert torch.allclose(augment(images, zero), images, atol=1e-4)  # no augmentation = identity


def test_occluders_are_one_coloured_bars_or_palms_over_the_chosen_share_of_faces():
    torch.manual_seed(0)
    images = torch.full((64, 3, 96, 96), 2.0)  # outside [0, 1]: every painted pixel shows
    assert torch.equal(occlude(images, 0.0), images)
    out = occlude(images, 1.0)
    painted = (out != images).any(1)  # (B, H, W)
    area = painted.float().mean((1, 2))
    # a 0.6-1.2 x 0.1-0.24 bar (at most 0.288 of the image) or a palm of radii 0.11-0.17 x 0.14-0.22
    # (0.048-0.118), centred over the face: at least ~0.03 even when half of a bar falls outside the image
    assert (area > 0.02).all() and (area < 0.3).all()
    for k in range(len(out)):
        colours = out[k][:, painted[k]]
        assert torch.equal(colours, colours[:, :1].expand_as(colours))  # one colour per occluder
    some = (occlude(images, 0.3) != images).flatten(1).any(1).float().mean()
    assert 0.1 < some < 0.5
