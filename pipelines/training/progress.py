"""What the training console shows: one line per epoch with its ETA, and a text progress bar inside long
epochs (detection epochs take 4-9 minutes on 2 cores).

Plain lines, not carriage-return bars: the loop runs in Ray workers whose output reaches the console (and
``dvc repro``'s log) line by line, so each update is one line, at most one per ``every_s`` seconds, and an
epoch shorter than that prints none. Only rank 0 prints (``Session.log``). Nothing here touches a result.
"""

from __future__ import annotations

import time


def minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


class EpochClock:
    """Time per epoch so far, and the time left for the epochs still to run."""

    def __init__(self, epochs: int, start_epoch: int = 0):
        self.epochs, self.start_epoch, self.t0 = epochs, start_epoch, time.perf_counter()

    def summary(self, epoch: int) -> str:
        """``"4.2 min, ETA 12.6 min"`` after (0-based) ``epoch``; the ETA is the mean epoch so far times those left."""
        elapsed = time.perf_counter() - self.t0
        done = epoch + 1 - self.start_epoch
        left = self.epochs - epoch - 1
        this = elapsed / max(done, 1)
        return f"{minutes(this)}/epoch, ETA {minutes(this * left)}" if left else f"{minutes(elapsed)} in all"


class BatchProgress:
    """``epoch 3/7 [######..............] 30% 795/2650 batches, loss 0.512, 3.1 min left in the epoch``."""

    WIDTH = 20

    def __init__(self, log, epoch: int, epochs: int, batches: int, every_s: float = 30.0):
        self.log, self.epoch, self.epochs, self.batches, self.every_s = log, epoch, epochs, batches, every_s
        self.t0 = self.last = time.perf_counter()

    def update(self, done: int, loss: float) -> None:
        now = time.perf_counter()
        if now - self.last < self.every_s or done >= self.batches:
            return
        self.last = now
        share = done / self.batches
        bar = "#" * round(share * self.WIDTH)
        left = (now - self.t0) / done * (self.batches - done)
        self.log(f"epoch {self.epoch + 1}/{self.epochs} [{bar:.<{self.WIDTH}}] {share:4.0%} {done}/{self.batches} "
                 f"batches, loss {loss:.4g}, {minutes(left)} left in the epoch")
