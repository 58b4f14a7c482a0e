"""The training console: per-epoch ETA and the throttled progress bar (pipelines/training/progress.py)."""

from pipelines.training import progress


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_epoch_clock_eta_is_mean_epoch_times_epochs_left(monkeypatch):
    clock_time = FakeClock()
    monkeypatch.setattr(progress.time, "perf_counter", clock_time)
    clock = progress.EpochClock(epochs=5, start_epoch=1)  # resumed after epoch 0
    clock_time.now = 240.0  # epochs 1 and 2 took 2 min each
    assert clock.summary(2) == "2.0 min/epoch, ETA 4.0 min"
    clock_time.now = 600.0
    assert clock.summary(4) == "10.0 min in all"


def test_batch_progress_prints_at_most_every_interval_and_never_for_short_epochs(monkeypatch):
    clock_time = FakeClock()
    monkeypatch.setattr(progress.time, "perf_counter", clock_time)
    lines = []
    bar = progress.BatchProgress(lines.append, epoch=2, epochs=7, batches=100, every_s=30)
    for done in range(1, 101):
        clock_time.now = done * 1.0  # 1 s per batch: updates at 30 s and 60 s and 90 s, none at the end
        bar.update(done, loss=0.5)
    assert lines == [
        "epoch 3/7 [######..............]  30% 30/100 batches, loss 0.5, 70 s left in the epoch",
        "epoch 3/7 [############........]  60% 60/100 batches, loss 0.5, 40 s left in the epoch",
        "epoch 3/7 [##################..]  90% 90/100 batches, loss 0.5, 10 s left in the epoch",
    ]
    quiet = []
    short = progress.BatchProgress(quiet.append, epoch=0, epochs=1, batches=10, every_s=30)
    for done in range(1, 11):
        clock_time.now = 100 + done
        short.update(done, loss=1.0)
    assert quiet == []
