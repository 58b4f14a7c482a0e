"""A compact YOLO (v2-style) detector of Course 4 Week 3 ("Car detection with YOLO").

The course's model, in PyTorch and small enough to train on a CPU: a fully convolutional backbone
divides a letterboxed ``input_size`` image into an ``S x S`` grid (``S = input_size / stride``) and
predicts, for each of ``K`` anchor boxes per cell, ``(tx, ty, tw, th, objectness, C class logits)``:

    box centre = (cell + sigmoid(tx, ty)) * stride        box size = anchor * exp(tw, th)
    score(class) = sigmoid(objectness) * softmax(class logits)

Anchors come from k-means on the training boxes with a ``1 - IoU`` distance (YOLOv2), every
ground-truth box is the responsibility of the cell holding its centre and of its best-fitting
anchor, and inference keeps ``score >= threshold`` boxes and runs non-max suppression per class.
``letterbox`` fits any image into the square input and maps boxes back to the original pixels.

Boxes everywhere are ``[x1, y1, x2, y2]`` in pixels (``pipelines.data.coco``'s convention).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torchvision.ops import batched_nms, complete_box_iou_loss

# Anchors (w, h) in input pixels for a 256 px input; a task should replace them with kmeans_anchors of its data.
DEFAULT_ANCHORS = ((16.0, 22.0), (40.0, 26.0), (28.0, 64.0), (76.0, 54.0), (150.0, 110.0))
# exp(tw) is capped as in torchvision's box coder: an untrained head must not overflow to inf boxes.
MAX_LOG_SCALE = math.log(1000.0 / 16)
OBJECTNESS_PRIOR = 0.01  # initial P(object) per anchor: most anchors see background (RetinaNet's prior)


@dataclass
class YoloConfig:
    num_classes: int
    anchors: list[tuple[float, float]] = field(default_factory=lambda: list(DEFAULT_ANCHORS))
    input_size: int = 256      # side of the square (letterboxed) network input, px
    stride: int = 16           # input px per grid cell: a power of two; 256 / 16 = 16 x 16 grid
    width: float = 1.0         # channel multiplier of the backbone
    base_channels: int = 16    # channels of the stem at width 1; each stride-2 stage doubles them
    depths: tuple[int, ...] = (1, 1, 2, 1)  # residual blocks per stage after the stem
    # Stages coarser than the grid, fused back top-down (an FPN path ending at the grid): they give the
    # cells context of the size of the largest objects. len(depths) = log2(stride) - 1 + context_stages.
    context_stages: int = 1
    leaky_slope: float = 0.1
    # YOLOv5's assignment: a box also trains the two neighbouring cells nearest its centre, whose
    # centres then reach -0.5..1.5 cells (2 sigmoid - 0.5): three times the positives per box.
    neighbour_cells: bool = False

    def __post_init__(self) -> None:
        self.anchors = [(float(w), float(h)) for w, h in self.anchors]
        self.depths = tuple(int(d) for d in self.depths)
        levels = round(math.log2(self.stride))
        if self.stride < 4 or 2 ** levels != self.stride:
            raise ValueError(f"yolo: stride must be a power of two >= 4, got {self.stride}")
        if self.context_stages < 1:
            raise ValueError(f"yolo: context_stages must be >= 1, got {self.context_stages}")
        if len(self.depths) != levels - 1 + self.context_stages:
            raise ValueError(f"yolo: stride {self.stride} with {self.context_stages} context stage(s) needs "
                             f"{levels - 1 + self.context_stages} stage depths, got {self.depths}")
        if self.input_size % self.coarsest_stride:
            raise ValueError(f"yolo: input_size {self.input_size} must be a multiple of the coarsest stride "
                             f"{self.coarsest_stride} (stride x 2^context_stages)")
        if not self.anchors or min(min(a) for a in self.anchors) <= 0:
            raise ValueError(f"yolo: anchors must be positive (w, h) pairs, got {self.anchors}")

    @property
    def coarsest_stride(self) -> int:
        """Input px per cell of the coarsest stage: every input side must be a multiple of it."""
        return self.stride * 2 ** self.context_stages

    @property
    def grid(self) -> int:
        return self.input_size // self.stride

    @property
    def num_anchors(self) -> int:
        return len(self.anchors)

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------- network


class ConvBNAct(nn.Sequential):
    """conv (no bias: BN has one) -> batch norm -> leaky ReLU, Darknet's unit."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, slope: float = 0.1):
        super().__init__(nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False),
                         nn.BatchNorm2d(c_out), nn.LeakyReLU(slope, inplace=True))


class Residual(nn.Module):
    """x + 3x3(1x1 bottleneck(x)), Darknet-53's block: depth at half the 3x3 cost."""

    def __init__(self, c: int, slope: float):
        super().__init__()
        self.body = nn.Sequential(ConvBNAct(c, c // 2, 1, slope=slope), ConvBNAct(c // 2, c, 3, slope=slope))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Yolo(nn.Module):
    """Image ``(B, 3, H, W)`` in [0, 1] -> raw predictions ``(B, K, H/stride, W/stride, 5 + C)``.

    Stride-2 stages down to the grid, then ``context_stages`` coarser ones whose outputs are fused back
    top-down, each upsampled and concatenated with the next finer one (YOLOv2's passthrough the other
    way round; an FPN path with a single output): the grid cells see context of the size of the largest
    objects (160 px) without losing the grid's resolution, so a stride-8 grid can serve small objects.
    """

    def __init__(self, cfg: YoloConfig):
        super().__init__()
        self.cfg = cfg
        slope = cfg.leaky_slope
        chans = [max(8, round(cfg.base_channels * cfg.width * 2 ** i / 8) * 8) for i in range(len(cfg.depths) + 1)]
        self.stem = ConvBNAct(3, chans[0], 3, 2, slope)
        stages = [nn.Sequential(ConvBNAct(chans[i], chans[i + 1], 3, 2, slope),
                                *(Residual(chans[i + 1], slope) for _ in range(depth)))
                  for i, depth in enumerate(cfg.depths)]
        g = len(cfg.depths) - cfg.context_stages  # stem + these reach the grid's stride
        self.down = nn.Sequential(*stages[:g])
        self.context = stages[g]                  # one stage coarser
        self.coarser = nn.ModuleList(stages[g + 1:])
        # Top-down: level k (k = 1 is the context stage) takes the upsampled, reduced level k + 1.
        self.top_reduce = nn.ModuleList(ConvBNAct(chans[g + k + 1], chans[g + k], 1, slope=slope)
                                        for k in range(1, cfg.context_stages))
        self.top_fuse = nn.ModuleList(ConvBNAct(2 * chans[g + k], chans[g + k], 3, slope=slope)
                                      for k in range(1, cfg.context_stages))
        grid_c, context_c = chans[g], chans[g + 1]
        self.reduce = ConvBNAct(context_c, grid_c, 1, slope=slope)
        self.fuse = ConvBNAct(2 * grid_c, grid_c, 3, slope=slope)
        self.head = nn.Conv2d(grid_c, cfg.num_anchors * (5 + cfg.num_classes), 1)
        self.register_buffer("anchors", torch.tensor(cfg.anchors, dtype=torch.float32), persistent=False)
        self._init_head()

    def _init_head(self) -> None:
        """Zero box offsets (anchor-sized boxes at the cell centre) and a low objectness prior.

        With the default bias of 0 every one of the K S^2 anchors would start at P(object) = 0.5 and
        the no-object loss would swamp the first updates.
        """
        nn.init.normal_(self.head.weight, std=0.01)
        bias = self.head.bias.detach().view(self.cfg.num_anchors, 5 + self.cfg.num_classes)
        bias.zero_()
        bias[:, 4] = math.log(OBJECTNESS_PRIOR / (1 - OBJECTNESS_PRIOR))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        feats = [self.down(self.stem(images))]
        feats.append(self.context(feats[0]))
        for stage in self.coarser:
            feats.append(stage(feats[-1]))
        x = feats[-1]
        for k in range(len(feats) - 2, 0, -1):  # the coarsest level down to the context stage
            up = F.interpolate(self.top_reduce[k - 1](x), size=feats[k].shape[-2:], mode="nearest")
            x = self.top_fuse[k - 1](torch.cat([feats[k], up], dim=1))
        context = F.interpolate(self.reduce(x), size=feats[0].shape[-2:], mode="nearest")
        out = self.head(self.fuse(torch.cat([feats[0], context], dim=1)))
        B, _, H, W = out.shape
        return out.view(B, self.cfg.num_anchors, 5 + self.cfg.num_classes, H, W).permute(0, 1, 3, 4, 2)


# ---------------------------------------------------------------- anchors


def wh_iou(wh: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """IoU ``(N, K)`` of box sizes ``(N, 2)`` and anchor sizes ``(K, 2)`` placed at a common centre."""
    inter = torch.minimum(wh[:, None, :], anchors[None, :, :]).prod(-1)
    return inter / (wh.prod(-1)[:, None] + anchors.prod(-1)[None, :] - inter)


def kmeans_anchors(wh: np.ndarray, k: int, seed: int = 0, iters: int = 300) -> np.ndarray:
    """YOLOv2's anchors: k-means of box sizes ``(N, 2)`` under ``d = 1 - IoU`` -> ``(k, 2)``, sorted by area.

    Euclidean k-means would let large boxes dominate the error; IoU is scale-free. Seeding is
    k-means++ with the same distance, so well-separated clusters are found from any seed.
    """
    data = torch.as_tensor(np.asarray(wh, dtype=np.float64).reshape(-1, 2))
    data = data[(data > 0).all(1)]
    if len(torch.unique(data, dim=0)) < k:
        raise ValueError(f"kmeans_anchors: need at least {k} distinct positive box sizes, got {len(data)} boxes")
    gen = torch.Generator().manual_seed(seed)
    centres = data[torch.randint(len(data), (1,), generator=gen)]
    while len(centres) < k:
        dist = (1 - wh_iou(data, centres)).min(1).values
        centres = torch.cat([centres, data[torch.multinomial(dist ** 2, 1, generator=gen)]])
    for _ in range(iters):
        assign = wh_iou(data, centres).argmax(1)
        # An emptied cluster keeps its centre rather than collapsing to NaN.
        new = torch.stack([data[assign == j].mean(0) if (assign == j).any() else centres[j] for j in range(k)])
        if torch.allclose(new, centres):
            break
        centres = new
    return centres[centres.prod(1).argsort()].numpy()


# ---------------------------------------------------------------- targets and loss


def build_targets(boxes_list: list, labels_list: list, anchors: torch.Tensor | list, grid: int, stride: int,
                  match_iou: float | None = None, neighbour_cells: bool = False) -> dict[str, torch.Tensor]:
    """Ground truth of a batch -> dense targets on the ``(B, K, S, S)`` prediction layout.

    ``boxes_list[b]`` is ``(N_b, 4)`` xyxy in input pixels, ``labels_list[b]`` ``(N_b,)``. A box is
    assigned to the cell holding its centre and to its best anchor by centred IoU, plus every anchor
    with IoU > ``match_iou`` when given. If two boxes claim the same (cell, anchor), the better-fitting
    one wins. With ``neighbour_cells`` the match is repeated in the horizontal and the vertical neighbour
    cell nearest the centre (YOLOv5), with offsets beyond the cell (-0.5..1.5).
    Returns ``mask`` (B, K, S, S) bool, ``txy`` (.., 2) centre offsets in the cell, ``twh``
    (.., 2) ``log(box / anchor)``, ``labels`` (..) long, ``weight`` (..) ``2 - box area / input area``
    (small boxes count more: a pixel off matters more to their IoU), ``tbox`` (.., 4) the assigned box
    xyxy in input pixels, and ``gt_boxes`` (B, M, 4) with
    ``gt_valid`` (B, M), every box padded, for the loss's ignore rule.
    """
    anchors = torch.as_tensor(anchors, dtype=torch.float32)
    device, K, B = anchors.device, len(anchors), len(boxes_list)
    boxes = torch.cat([torch.as_tensor(b, dtype=torch.float32, device=device).reshape(-1, 4) for b in boxes_list])
    labels = torch.cat([torch.as_tensor(c, dtype=torch.long, device=device).reshape(-1) for c in labels_list])
    counts = torch.tensor([len(b) for b in boxes_list], device=device)
    image = torch.repeat_interleave(torch.arange(B, device=device), counts)
    slot = torch.arange(len(boxes), device=device) - (counts.cumsum(0) - counts)[image]
    wh = boxes[:, 2:] - boxes[:, :2]
    valid = (wh > 0).all(1)

    M = max(int(counts.max()) if B else 0, 1)
    gt_boxes = torch.zeros(B, M, 4, device=device)
    gt_valid = torch.zeros(B, M, dtype=torch.bool, device=device)
    gt_boxes[image, slot], gt_valid[image, slot] = boxes, valid

    boxes, labels, image, wh = boxes[valid], labels[valid], image[valid], wh[valid]
    centre = (boxes[:, :2] + boxes[:, 2:]) / (2 * stride)
    cell = centre.floor().long().clamp(0, grid - 1)
    iou = wh_iou(wh, anchors)
    match = F.one_hot(iou.argmax(1), K).bool()
    if match_iou is not None:
        match |= iou > match_iou
    box_i, anchor_i = match.nonzero(as_tuple=True)
    cells = cell[box_i]
    if neighbour_cells:
        frac = centre[box_i] - cells
        step = torch.where(frac < 0.5, -1, 1)  # towards the nearer neighbour, per axis
        extra_x, extra_y = cells.clone(), cells.clone()
        extra_x[:, 0] += step[:, 0]
        extra_y[:, 1] += step[:, 1]
        inside_x = (extra_x[:, 0] >= 0) & (extra_x[:, 0] < grid)
        inside_y = (extra_y[:, 1] >= 0) & (extra_y[:, 1] < grid)
        box_i = torch.cat([box_i, box_i[inside_x], box_i[inside_y]])
        anchor_i = torch.cat([anchor_i, anchor_i[inside_x], anchor_i[inside_y]])
        cells = torch.cat([cells, extra_x[inside_x], extra_y[inside_y]])
    flat = ((image[box_i] * K + anchor_i) * grid + cells[:, 1]) * grid + cells[:, 0]
    # Sort by IoU, then (stably) by slot: the first of each run of equal slots is its best claimant.
    order = iou[box_i, anchor_i].argsort(descending=True, stable=True)
    order = order[flat[order].argsort(stable=True)]
    first = torch.ones_like(order, dtype=torch.bool)
    first[1:] = flat[order][1:] != flat[order][:-1]
    keep = order[first]
    box_i, anchor_i, flat, cells = box_i[keep], anchor_i[keep], flat[keep], cells[keep]

    n = B * K * grid * grid
    mask = torch.zeros(n, dtype=torch.bool, device=device)
    txy, twh = torch.zeros(n, 2, device=device), torch.zeros(n, 2, device=device)
    target_labels = torch.zeros(n, dtype=torch.long, device=device)
    weight = torch.zeros(n, device=device)
    tbox = torch.zeros(n, 4, device=device)
    mask[flat] = True
    tbox[flat] = boxes[box_i]
    txy[flat] = (centre[box_i] - cells).clamp(-0.5, 1.5) if neighbour_cells else (centre[box_i] - cells).clamp(0, 1)
    twh[flat] = torch.log(wh[box_i] / anchors[anchor_i])
    target_labels[flat] = labels[box_i]
    weight[flat] = 2 - wh[box_i].prod(1) / float(grid * stride) ** 2
    shape = (B, K, grid, grid)
    return {"mask": mask.view(shape), "txy": txy.view(*shape, 2), "twh": twh.view(*shape, 2),
            "labels": target_labels.view(shape), "weight": weight.view(shape), "tbox": tbox.view(*shape, 4),
            "gt_boxes": gt_boxes, "gt_valid": gt_valid}


def centre_offset(txy: torch.Tensor, neighbour_cells: bool = False) -> torch.Tensor:
    """Raw ``(tx, ty)`` -> the centre's offset in its cell: ``sigmoid`` (0..1), or ``2 sigmoid - 0.5``
    (-0.5..1.5) when neighbouring cells are trained too."""
    return 2 * torch.sigmoid(txy) - 0.5 if neighbour_cells else torch.sigmoid(txy)


def pred_boxes(pred: torch.Tensor, anchors: torch.Tensor, stride: int, neighbour_cells: bool = False) -> torch.Tensor:
    """Raw predictions ``(B, K, H, W, 5 + C)`` -> boxes ``(B, K, H, W, 4)`` xyxy in input pixels."""
    H, W = pred.shape[2:4]
    ys, xs = torch.meshgrid(torch.arange(H, device=pred.device), torch.arange(W, device=pred.device), indexing="ij")
    cells = torch.stack([xs, ys], -1).to(pred.dtype)
    centre = (centre_offset(pred[..., 0:2], neighbour_cells) + cells) * stride
    size = anchors.to(pred).view(1, -1, 1, 1, 2) * torch.exp(pred[..., 2:4].clamp(max=MAX_LOG_SCALE))
    return torch.cat([centre - size / 2, centre + size / 2], -1)


def _batched_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU ``(B, N, M)`` of boxes ``(B, N, 4)`` and ``(B, M, 4)``, all xyxy."""
    lt = torch.maximum(a[:, :, None, :2], b[:, None, :, :2])
    rb = torch.minimum(a[:, :, None, 2:], b[:, None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a = (a[..., 2:] - a[..., :2]).clamp(min=0).prod(-1)
    area_b = (b[..., 2:] - b[..., :2]).clamp(min=0).prod(-1)
    return inter / (area_a[:, :, None] + area_b[:, None, :] - inter).clamp(min=1e-9)


def yolo_loss(pred: torch.Tensor, targets: dict[str, torch.Tensor], anchors: torch.Tensor, stride: int, *,
              coord: float = 5.0, noobj: float = 0.5, obj: float = 1.0, cls: float = 1.0,
              ignore_iou: float = 0.6, neighbour_cells: bool = False, box: str = "mse",
              obj_iou: float = 0.0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """YOLOv2's loss of raw predictions against :func:`build_targets`, summed per image, mean over the batch.

    Assigned anchors: squared error of ``sigmoid(txy)`` and of ``twh`` (log-space, so a box twice too
    big costs as much as one half too small), weighted by ``coord`` and the targets' small-box weight;
    BCE towards objectness 1; cross-entropy of the class. Other anchors: BCE towards objectness 0,
    down-weighted by ``noobj`` (they are the vast majority), except where the predicted box already
    overlaps a ground-truth box by IoU > ``ignore_iou`` (a good box that is merely not the assigned
    one should not be punished). Returns the total and its (detached) parts.

    ``box="ciou"`` replaces the two squared errors by the complete-IoU loss of the decoded box (YOLOv4/v5:
    it optimises the overlap that mAP measures, equally for every box size; reported as ``xy``, with
    ``wh`` 0). ``obj_iou`` in [0, 1] blends the objectness target of assigned anchors from 1 towards
    the IoU of their current box (YOLOv5's ``gr``): scores then rank well-placed boxes first.
    """
    if box not in ("mse", "ciou"):
        raise ValueError(f"yolo_loss: box must be 'mse' or 'ciou', got {box!r}")
    mask, B = targets["mask"], pred.size(0)
    pos = pred[mask]
    weight = targets["weight"][mask]
    obj_target = torch.ones_like(pos[:, 4])
    # Every anchor's decoded box, once: the IoU losses use the assigned ones, the ignore rule all of them.
    boxes = pred_boxes(pred, anchors, stride, neighbour_cells)
    if box == "ciou" or obj_iou > 0:
        box_loss = complete_box_iou_loss(boxes[mask], targets["tbox"][mask], reduction="none")
        if obj_iou > 0:  # 1 - CIoU <= 1 - IoU, so this is a slight under-estimate of the IoU: clamped
            obj_target = (1 - obj_iou) + obj_iou * (1 - box_loss.detach()).clamp(0, 1)
    if box == "ciou":
        xy, wh = (weight * box_loss).sum(), pos.new_zeros(())
    else:
        xy = (weight[:, None] * (centre_offset(pos[:, 0:2], neighbour_cells) - targets["txy"][mask]) ** 2).sum()
        wh = (weight[:, None] * (pos[:, 2:4] - targets["twh"][mask]) ** 2).sum()
    obj_pos = F.binary_cross_entropy_with_logits(pos[:, 4], obj_target, reduction="sum")
    cls_loss = F.cross_entropy(pos[:, 5:], targets["labels"][mask], reduction="sum")

    with torch.no_grad():
        iou = _batched_iou(boxes.detach().reshape(B, -1, 4), targets["gt_boxes"])
        iou = iou.masked_fill(~targets["gt_valid"][:, None, :], 0)
        negative = ~mask & (iou.max(-1).values <= ignore_iou).view(mask.shape)
    logits = pred[..., 4][negative]
    obj_neg = F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits), reduction="sum")

    parts = {"xy": coord * xy / B, "wh": coord * wh / B, "obj": obj * obj_pos / B,
             "noobj": noobj * obj_neg / B, "cls": cls * cls_loss / B}
    total = sum(parts.values())
    return total, {k: v.detach() for k, v in parts.items()}


# ---------------------------------------------------------------- inference


@torch.no_grad()
def decode(pred: torch.Tensor, anchors: torch.Tensor, stride: int, score_threshold: float = 0.25,
           iou_threshold: float = 0.45, max_detections: int = 100,
           pre_nms_top_k: int = 1000, neighbour_cells: bool = False) -> list[dict[str, torch.Tensor]]:
    """Raw predictions -> per image ``{"boxes" (n, 4) xyxy input px, "scores" (n,), "labels" (n,)}``.

    Every (anchor, class) pair with ``sigmoid(objectness) * softmax(class) >= score_threshold`` is a
    candidate (an anchor may report two classes when unsure; the lower one then counts as a false
    positive of its class only, which is what AP wants). The ``pre_nms_top_k`` best go through
    class-aware NMS; the ``max_detections`` best survivors are returned, best first.
    """
    B, K, H, W, _ = pred.shape
    boxes = pred_boxes(pred, anchors, stride, neighbour_cells)
    boxes[..., 0::2] = boxes[..., 0::2].clamp(0, W * stride)
    boxes[..., 1::2] = boxes[..., 1::2].clamp(0, H * stride)
    scores = torch.sigmoid(pred[..., 4:5]) * torch.softmax(pred[..., 5:], -1)
    C = scores.size(-1)
    out = []
    for b in range(B):
        flat = scores[b].reshape(-1)
        cand = (flat >= score_threshold).nonzero().squeeze(1)
        if len(cand) > pre_nms_top_k:
            cand = cand[flat[cand].topk(pre_nms_top_k).indices]
        box = boxes[b].reshape(-1, 4)[cand // C]
        score, label = flat[cand], cand % C
        keep = batched_nms(box, score, label, iou_threshold)[:max_detections]
        out.append({"boxes": box[keep], "scores": score[keep], "labels": label[keep]})
    return out


# ---------------------------------------------------------------- letterbox


@dataclass(frozen=True)
class Letterbox:
    """Where a ``width x height`` image sits on the ``size x size`` input: resized, then centred on padding.

    The resize rounds each side to whole pixels, so x and y have their own scale: mapping with the
    exact ``new / old`` ratio per axis is what makes boxes land on the resized pixels.
    """

    width: int
    height: int
    size: int
    new_width: int
    new_height: int
    pad_x: int
    pad_y: int

    @classmethod
    def fit(cls, width: int, height: int, size: int) -> Letterbox:
        scale = size / max(width, height)
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        return cls(width, height, size, new_w, new_h, (size - new_w) // 2, (size - new_h) // 2)

    @property
    def scale_x(self) -> float:
        return self.new_width / self.width

    @property
    def scale_y(self) -> float:
        return self.new_height / self.height

    def to_input(self, boxes: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """xyxy boxes ``(..., 4)`` in original pixels -> input pixels (a new float array or tensor)."""
        out = boxes * 1.0
        out[..., 0::2] = out[..., 0::2] * self.scale_x + self.pad_x
        out[..., 1::2] = out[..., 1::2] * self.scale_y + self.pad_y
        return out

    def to_original(self, boxes: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """xyxy boxes in input pixels -> original pixels, clipped to the image (boxes may reach into the pad)."""
        out = boxes * 1.0
        out[..., 0::2] = ((out[..., 0::2] - self.pad_x) / self.scale_x).clip(0, self.width)
        out[..., 1::2] = ((out[..., 1::2] - self.pad_y) / self.scale_y).clip(0, self.height)
        return out


def letterbox(image: Image.Image, size: int, fill: tuple[int, int, int] = (114, 114, 114)
              ) -> tuple[Image.Image, Letterbox]:
    """``image`` resized to fit ``size x size`` with its aspect ratio kept and centred on ``fill``.

    Padding instead of stretching keeps objects' shapes, so the anchors learned on one aspect
    ratio fit images of any other.
    """
    box = Letterbox.fit(image.width, image.height, size)
    canvas = Image.new("RGB", (size, size), fill)
    canvas.paste(image.convert("RGB").resize((box.new_width, box.new_height), Image.Resampling.BILINEAR),
                 (box.pad_x, box.pad_y))
    return canvas, box
