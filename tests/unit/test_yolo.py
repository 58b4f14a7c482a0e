"""The YOLO detector: anchors, target assignment, loss, decoding + NMS, letterbox and a tiny overfit."""

import math

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.ops import box_iou

from pipelines.models.yolo import (
    Letterbox,
    Yolo,
    YoloConfig,
    build_targets,
    decode,
    kmeans_anchors,
    letterbox,
    yolo_loss,
)

ANCHORS = torch.tensor([[10.0, 10.0], [48.0, 32.0], [100.0, 100.0]])
BIG = 20.0  # a logit that makes sigmoid / softmax saturate: BCE and CE ~ 2e-9


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


# ---------------------------------------------------------------- config and network


def test_output_shape_and_head_prior():
    torch.manual_seed(0)
    cfg = YoloConfig(num_classes=8)
    model = Yolo(cfg).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, 256, 256))
    assert cfg.grid == 16
    assert out.shape == (2, 5, 16, 16, 13)
    # An untrained model believes in few objects, so the no-object loss does not swamp training at first.
    assert torch.sigmoid(out[..., 4]).mean() < 0.05
    assert 1_000_000 < sum(p.numel() for p in model.parameters()) < 2_000_000


def test_other_strides_and_widths():
    cfg = YoloConfig(num_classes=3, anchors=[(20, 20), (60, 40)], input_size=128, stride=8, width=0.5,
                     depths=(1, 1, 1))
    with torch.no_grad():
        assert Yolo(cfg).eval()(torch.rand(1, 3, 128, 128)).shape == (1, 2, 16, 16, 8)
    assert YoloConfig(**cfg.to_dict()) == cfg


def test_a_stride_8_grid_fuses_two_coarser_stages_top_down():
    torch.manual_seed(0)
    cfg = YoloConfig(num_classes=8, stride=8, depths=(1, 1, 2, 1), context_stages=2)
    model = Yolo(cfg).eval()
    x = torch.rand(1, 3, 256, 256)
    with torch.no_grad():
        out = model(x)
        assert cfg.grid == 32 and out.shape == (1, 5, 32, 32, 13)
        assert len(model.coarser) == 1 and len(model.top_fuse) == 1
        # The coarsest (stride-32) stage reaches the output: changing it changes the predictions.
        model.coarser[0][0][0].weight.mul_(3)
        assert not torch.allclose(model(x), out)
    # With one context stage the module names are the original ones: trained models keep loading.
    names = set(Yolo(YoloConfig(num_classes=8)).state_dict())
    assert not any(n.startswith(("coarser", "top_")) for n in names)


@pytest.mark.parametrize("kwargs", [{"stride": 12}, {"depths": (1, 1)}, {"input_size": 250}, {"anchors": [(0, 5)]},
                                    {"context_stages": 0}, {"stride": 8, "context_stages": 2, "depths": (1, 1, 2)},
                                    {"stride": 8, "context_stages": 2, "input_size": 48}])
def test_bad_config_is_rejected(kwargs):
    with pytest.raises(ValueError):
        YoloConfig(num_classes=2, **kwargs)


# ---------------------------------------------------------------- anchors


def test_kmeans_recovers_obvious_clusters():
    rng = np.random.default_rng(0)
    centres = np.array([[12.0, 10.0], [60.0, 24.0], [30.0, 90.0], [140.0, 120.0]])
    wh = np.concatenate([c * rng.uniform(0.93, 1.07, size=(50, 2)) for c in centres])
    rng.shuffle(wh)
    anchors = kmeans_anchors(wh, k=4, seed=3)
    assert anchors.shape == (4, 2)
    assert np.all(np.diff(anchors.prod(1)) > 0)  # sorted by area
    np.testing.assert_allclose(anchors, centres[np.argsort(centres.prod(1))], rtol=0.05)


def test_kmeans_needs_enough_distinct_boxes():
    with pytest.raises(ValueError):
        kmeans_anchors(np.array([[10.0, 10.0]] * 5), k=2)


# ---------------------------------------------------------------- targets


def test_box_lands_in_its_cell_and_best_anchor_with_offsets():
    # Centre (60, 86) / 16 = (3.75, 5.375): cell x 3, y 5; size 48 x 32 is anchor 1 exactly.
    box = torch.tensor([[36.0, 70.0, 84.0, 102.0]])
    t = build_targets([box, torch.zeros(0, 4)], [torch.tensor([4]), torch.zeros(0)], ANCHORS, grid=16, stride=16)
    assert t["mask"].shape == (2, 3, 16, 16)
    assert t["mask"].nonzero().tolist() == [[0, 1, 5, 3]]
    torch.testing.assert_close(t["txy"][0, 1, 5, 3], torch.tensor([0.75, 0.375]))
    torch.testing.assert_close(t["twh"][0, 1, 5, 3], torch.zeros(2))
    assert t["labels"][0, 1, 5, 3] == 4
    assert t["weight"][0, 1, 5, 3] == pytest.approx(2 - 48 * 32 / 256**2)
    assert t["gt_valid"].tolist() == [[True], [False]]


def test_competing_boxes_and_extra_anchors():
    # Both boxes are centred in cell (3, 5) and fit anchor 1 best: the better fit (the exact 48 x 32) wins.
    boxes = torch.tensor([[36.0, 70.0, 84.0, 102.0], [38.0, 70.0, 82.0, 102.0]])
    t = build_targets([boxes.flip(0)], [torch.tensor([2, 7])], ANCHORS, grid=16, stride=16)
    assert t["mask"].sum() == 1 and t["labels"][0, 1, 5, 3] == 7
    # A 70 x 70 box: IoU 0.49 with anchor 2, 0.31 with anchor 1; match_iou adds the second-best too.
    box = torch.tensor([[100.0, 100.0, 170.0, 170.0]])
    assert build_targets([box], [torch.tensor([0])], ANCHORS, 16, 16)["mask"].nonzero()[:, 1].tolist() == [2]
    extra = build_targets([box], [torch.tensor([0])], ANCHORS, 16, 16, match_iou=0.3)
    assert extra["mask"].nonzero()[:, 1].tolist() == [1, 2]


# ---------------------------------------------------------------- loss


def _perfect_prediction(targets: dict, num_classes: int) -> torch.Tensor:
    """Raw outputs that reproduce ``targets`` exactly: confident objectness, class and box at each positive."""
    mask = targets["mask"]
    pred = torch.zeros(*mask.shape, 5 + num_classes)
    pred[..., 4] = -BIG
    pos = pred[mask]
    pos[:, 0:2] = torch.logit(targets["txy"][mask])
    pos[:, 2:4] = targets["twh"][mask]
    pos[:, 4] = BIG
    pos[:, 5:] = -BIG
    pos[torch.arange(len(pos)), 5 + targets["labels"][mask]] = BIG
    pred[mask] = pos
    return pred


def test_loss_is_zero_for_a_matching_prediction_and_grows_with_each_error():
    boxes = [torch.tensor([[36.0, 70.0, 84.0, 102.0], [150.0, 20.0, 230.0, 120.0]]), torch.tensor([[5.0, 5, 20, 14]])]
    labels = [torch.tensor([1, 3]), torch.tensor([0])]
    t = build_targets(boxes, labels, ANCHORS, grid=16, stride=16)
    pred = _perfect_prediction(t, num_classes=4)
    total, parts = yolo_loss(pred, t, ANCHORS, 16)
    assert set(parts) == {"xy", "wh", "obj", "noobj", "cls"}
    assert float(total) < 1e-4

    where = tuple(t["mask"].nonzero()[0].tolist())
    other_class = 5 + (int(t["labels"][where]) + 1) % 4
    # Centre off, size off, objectness unsure (logit 0), another class preferred.
    for channel, shift, part in [(0, 2.0, "xy"), (3, 0.5, "wh"), (4, BIG, "obj"), (other_class, -2 * BIG, "cls")]:
        wrong = pred.clone()
        wrong[(*where, channel)] -= shift
        total_wrong, parts_wrong = yolo_loss(wrong, t, ANCHORS, 16)
        assert float(parts_wrong[part]) > 0.1 and float(total_wrong) > float(total) + 0.1, part
    # A confident object where there is none.
    wrong = pred.clone()
    wrong[1, 0, 12, 12, 4] = BIG
    assert float(yolo_loss(wrong, t, ANCHORS, 16)[1]["noobj"]) > 1.0


def test_ciou_box_loss_and_iou_objectness_target():
    boxes = [torch.tensor([[36.0, 70.0, 84.0, 102.0], [150.0, 20.0, 230.0, 120.0]])]
    t = build_targets(boxes, [torch.tensor([1, 3])], ANCHORS, grid=16, stride=16)
    np.testing.assert_allclose(t["tbox"][t["mask"]].sort(0).values, boxes[0].sort(0).values)
    pred = _perfect_prediction(t, num_classes=4)
    total, parts = yolo_loss(pred, t, ANCHORS, 16, box="ciou", obj_iou=1.0)
    assert float(total) < 1e-3 and float(parts["wh"]) == 0.0
    where = tuple(t["mask"].nonzero()[0].tolist())
    shifted = pred.clone()
    shifted[(*where, 0)] -= 2.0  # the centre moves left by ~0.4 cell
    _, parts_shifted = yolo_loss(shifted, t, ANCHORS, 16, box="ciou")
    assert float(parts_shifted["xy"]) > 0.1
    # With obj_iou the confident objectness of a badly placed box is pushed down towards its IoU ...
    shifted[(*where, 2)] -= 1.0
    assert float(yolo_loss(shifted, t, ANCHORS, 16, box="ciou", obj_iou=1.0)[1]["obj"]) > 1.0
    # ... while a plain YOLOv2 target of 1 is happy with it.
    assert float(yolo_loss(shifted, t, ANCHORS, 16, box="ciou", obj_iou=0.0)[1]["obj"]) < 1e-4
    with pytest.raises(ValueError, match="box must be"):
        yolo_loss(pred, t, ANCHORS, 16, box="giou")


def test_noobj_ignores_a_good_box_from_an_unassigned_anchor():
    # The 48 x 32 box is anchor 1's; anchor 0 of the same cell predicting the same box is not punished ...
    box = torch.tensor([[36.0, 70.0, 84.0, 102.0]])
    t = build_targets([box], [torch.tensor([0])], ANCHORS, grid=16, stride=16)
    pred = _perfect_prediction(t, num_classes=2)
    pred[0, 0, 5, 3, :4] = pred[0, 1, 5, 3, :4] + torch.tensor([0, 0, math.log(4.8), math.log(3.2)])
    pred[0, 0, 5, 3, 4] = BIG
    assert float(yolo_loss(pred, t, ANCHORS, 16)[1]["noobj"]) < 1e-4
    # ... but the same confidence with a badly placed box is.
    pred[0, 0, 5, 3, 2:4] = 0.0
    assert float(yolo_loss(pred, t, ANCHORS, 16)[1]["noobj"]) > 1.0


# ---------------------------------------------------------------- decode


def test_decode_keeps_the_best_box_suppresses_its_duplicate_and_keeps_another_class():
    anchors = torch.tensor([[48.0, 32.0], [40.0, 40.0]])
    pred = torch.zeros(1, 2, 8, 8, 5 + 6)
    pred[..., 4] = -BIG
    # Anchor 0, cell (x 3, y 2), centred: box (32, 24, 80, 56), class 2, P(object) 0.95.
    pred[0, 0, 2, 3, 4], pred[0, 0, 2, 3, 5 + 2] = 3.0, 10.0
    # Its duplicate from the next cell, centre x = (4 + 0.05) * 16: IoU 0.69, same class, less sure.
    pred[0, 0, 2, 4, 0], pred[0, 0, 2, 4, 4], pred[0, 0, 2, 4, 5 + 2] = _logit(0.05), 1.5, 10.0
    # Anchor 1 in the first cell: box (36, 20, 76, 60), IoU 0.69 with the first, but class 5.
    pred[0, 1, 2, 3, 4], pred[0, 1, 2, 3, 5 + 5] = 2.0, 10.0

    (det,) = decode(pred, anchors, stride=16, score_threshold=0.3, iou_threshold=0.45)
    assert det["labels"].tolist() == [2, 5]
    torch.testing.assert_close(det["boxes"], torch.tensor([[32.0, 24, 80, 56], [36, 20, 76, 60]]))
    torch.testing.assert_close(det["scores"], torch.sigmoid(torch.tensor([3.0, 2.0])), atol=1e-3, rtol=0)
    # Without NMS pressure (IoU threshold above 0.69) the duplicate stays, ranked by score.
    (loose,) = decode(pred, anchors, stride=16, score_threshold=0.3, iou_threshold=0.9)
    assert loose["labels"].tolist() == [2, 5, 2]
    assert decode(pred, anchors, stride=16, score_threshold=0.3, max_detections=1)[0]["labels"].tolist() == [2]


# ---------------------------------------------------------------- letterbox


@pytest.mark.parametrize(("width", "height", "box"), [(300, 200, [40, 30, 190, 170]), (200, 450, [20, 300, 180, 410])])
def test_letterbox_maps_boxes_onto_the_resized_pixels_and_back_exactly(width, height, box):
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    x1, y1, x2, y2 = box
    pixels[y1:y2, x1:x2] = 255
    canvas, lb = letterbox(Image.fromarray(pixels), 256)
    assert canvas.size == (256, 256)
    assert lb == Letterbox.fit(width, height, 256)
    assert max(lb.new_width, lb.new_height) == 256

    # Where the white rectangle landed is where the mapped box says.
    white = np.asarray(canvas)[..., 0] > 127
    rows, cols = np.flatnonzero(white.any(1)), np.flatnonzero(white.any(0))
    found = np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], dtype=np.float64)
    mapped = lb.to_input(np.array(box, dtype=np.float32))
    np.testing.assert_allclose(found, mapped, atol=1.0)
    # Padding is grey, centred, and the content fills the rest.
    assert (np.asarray(canvas)[lb.pad_y + lb.new_height:, :, 0] == 114).all()
    assert lb.pad_x + lb.new_width <= 256 and lb.pad_y + lb.new_height <= 256

    np.testing.assert_allclose(lb.to_original(mapped), box, atol=1e-4)
    as_tensor = lb.to_original(lb.to_input(torch.tensor([box], dtype=torch.float32)))
    torch.testing.assert_close(as_tensor, torch.tensor([box], dtype=torch.float32))
    # Boxes reaching into the padding are clipped to the original image.
    np.testing.assert_allclose(lb.to_original(np.array([0.0, 0.0, 256.0, 256.0])), [0, 0, width, height])


# ---------------------------------------------------------------- training


@pytest.fixture
def one_thread():
    """The tiny model is overhead-bound: a second thread only adds synchronisation (a lot on a busy machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_a_tiny_model_overfits_one_image(one_thread):
    torch.manual_seed(0)
    cfg = YoloConfig(num_classes=3, anchors=[(12, 12), (24, 16), (32, 32)], input_size=64, stride=16, width=0.5)
    model = Yolo(cfg).train()
    image = torch.full((1, 3, 64, 64), 0.5)
    image[0, 0, 8:24, 10:34] = 1.0   # a red 24 x 16 box: class 1
    image[0, 2, 36:60, 34:58] = 1.0  # a blue 24 x 24 box: class 2
    boxes, labels = torch.tensor([[10.0, 8, 34, 24], [34, 36, 58, 60]]), torch.tensor([1, 2])
    images = image.repeat(2, 1, 1, 1)  # two copies: batch norm needs more than one sample's statistics
    targets = build_targets([boxes, boxes], [labels, labels], model.anchors, cfg.grid, cfg.stride)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss, _ = yolo_loss(model(images), targets, model.anchors, cfg.stride)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]

    with torch.no_grad():
        (det, _) = decode(model(images), model.anchors, cfg.stride, score_threshold=0.3)
    assert sorted(det["labels"].tolist()) == [1, 2]
    best = box_iou(boxes, det["boxes"]).max(1).values
    assert (best > 0.5).all()


def test_neighbour_cells_train_the_two_nearest_neighbours_too():
    # Centre (60, 86) / 16 = (3.75, 5.375): its cell is (3, 5); the nearer neighbours are x 4 and y 4.
    box = torch.tensor([[36.0, 70.0, 84.0, 102.0]])
    t = build_targets([box], [torch.tensor([4])], ANCHORS, grid=16, stride=16, neighbour_cells=True)
    assert sorted(t["mask"].nonzero()[:, 2:].tolist()) == [[4, 3], [5, 3], [5, 4]]  # (y, x)
    torch.testing.assert_close(t["txy"][0, 1, 5, 4], torch.tensor([-0.25, 0.375]))  # one cell to the right
    torch.testing.assert_close(t["txy"][0, 1, 4, 3], torch.tensor([0.75, 1.375]))   # one cell up
    # A perfect prediction under the 2 sigmoid - 0.5 parameterisation costs nothing, and decodes to the box.
    pred = torch.zeros(1, 3, 16, 16, 10)  # 5 classes
    pred[..., 4] = -BIG
    mask = t["mask"]
    pos = pred[mask]
    pos[:, 0:2] = torch.logit((t["txy"][mask] + 0.5) / 2)
    pos[:, 2:4] = t["twh"][mask]
    pos[:, 4], pos[:, 5:] = BIG, -BIG
    pos[:, 5 + 4] = BIG
    pred[mask] = pos
    total, _ = yolo_loss(pred, t, ANCHORS, 16, neighbour_cells=True)
    assert float(total) < 1e-4
    out = decode(pred, ANCHORS, 16, 0.5, neighbour_cells=True)[0]
    assert len(out["boxes"]) == 1  # the three copies of the box are one after NMS
    torch.testing.assert_close(out["boxes"][0], box[0], atol=1e-3, rtol=0)


def test_no_neighbour_outside_the_grid():
    box = torch.tensor([[0.0, 0.0, 10.0, 10.0]])  # centre (5, 5) px: cell (0, 0), nearer neighbours off the grid
    t = build_targets([box], [torch.tensor([0])], ANCHORS, grid=16, stride=16, neighbour_cells=True)
    assert t["mask"].nonzero()[:, 2:].tolist() == [[0, 0]]
