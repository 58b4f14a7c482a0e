"""The numpy networks on Courses 1-2's 2-D point sets (``pipelines/data/planar.py``): C1W3's flower, C2W1's
circles and regularization points, C2W2's moons.

    dlzoo train planar_shallow           # one network (PlanarMLPTask)
    dlzoo train c2w1_initialization      # a comparison table, one network per row (PlanarStudyTask)
"""

from __future__ import annotations

from pipelines.data import planar
from pipelines.tasks.scratch_mlp import ScratchMLPTask, ScratchStudyTask


class PlanarMLPTask(ScratchMLPTask):
    name = "planar_mlp"
    source = planar


class PlanarStudyTask(ScratchStudyTask):
    name = "planar_study"
    source = planar
