"""``dlzoo repro``: ``dvc repro`` with one line per stage saying which stage of how many, the time so far and
an ETA.

    dlzoo repro                  # what `dvc repro` runs, with stage progress
    dlzoo repro package_face     # a target and what it needs, as `dvc repro package_face`

DVC's own output (and every stage's progress bars) passes through as it comes. Before each stage:

    [dlzoo] stage 5/19 train_detection (18.9 min so far; about 1 h 42 min left)

The count is of the stages ``dvc status`` calls changed, plus everything downstream of them that the
run reaches (a stage whose inputs come out byte-identical is skipped by DVC, so the count is an upper
bound). The ETA sums each remaining stage's last measured time: this checkout's own
(``.dvc/tmp/stage_seconds.json``, written as stages finish) or else the times measured on the project's
2-core machine (``reports/stage_seconds.json``). A time counts only for the same stage with the same params
values in it and upstream of it (the smoke profile's stages have times of their own).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

from pipelines.params import fingerprint, load_params

LOCAL_TIMES = Path(".dvc/tmp/stage_seconds.json")
REFERENCE_TIMES = Path("reports/stage_seconds.json")
RUNNING = re.compile(r"Running stage '([^']+)'")


def _paths(entries: list) -> list[str]:
    return [next(iter(e)) if isinstance(e, dict) else e for e in entries or []]


def _inside(a: str, b: str) -> bool:
    return a == b or a.startswith(b.rstrip("/") + "/")


def graph(stages: dict) -> dict[str, set[str]]:
    """Stage -> the stages that read one of its outputs."""
    outs = {name: _paths(s.get("outs", [])) + _paths(s.get("metrics", [])) + _paths(s.get("plots", []))
            for name, s in stages.items()}
    return {name: {other for other, s in stages.items() if other != name and any(
        _inside(dep, out) or _inside(out, dep) for dep in _paths(s.get("deps", [])) for out in outs[name])}
        for name in stages}


def upstream(children: dict[str, set[str]], targets: list[str]) -> set[str]:
    """``targets`` and every stage they need."""
    parents: dict[str, set[str]] = {name: set() for name in children}
    for name, kids in children.items():
        for kid in kids:
            parents[kid].add(name)
    seen, todo = set(), list(targets)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += parents[name]
    return seen


def planned(stages: dict, changed: set[str], targets: list[str]) -> list[str]:
    """Stages the run may execute, in dvc.yaml order: the changed ones and what lies downstream of them,
    within what ``targets`` need (all stages without targets)."""
    children = graph(stages)
    scope = upstream(children, targets) if targets else set(stages)
    reach, todo = set(), [s for s in changed if s in scope]
    while todo:
        name = todo.pop()
        if name not in reach:
            reach.add(name)
            todo += [kid for kid in children[name] if kid in scope]
    return [name for name in stages if name in reach]


def stage_keys(stages: dict, params: dict) -> dict[str, str]:
    """``<stage>:<hash of the params values it and every stage upstream of it read>``: a time is reused only
    for the same settings and the same inputs (the smoke profile's smaller data gives other keys)."""
    children = graph(stages)
    keys = {}
    for name in stages:
        values = {}
        for upstream_stage in sorted(upstream(children, [name])):
            for key in stages[upstream_stage].get("params", []):
                node = params
                for part in key.split("."):
                    node = node.get(part) if isinstance(node, dict) else None
                values[key] = node
        keys[name] = f"{name}:{fingerprint(values)}"
    return keys


def load_times() -> dict[str, float]:
    times: dict[str, float] = {}
    for path in (REFERENCE_TIMES, LOCAL_TIMES):  # this checkout's own times win
        if path.is_file():
            times.update(json.loads(path.read_text()))
    return times


def save_time(key: str, seconds: float) -> None:
    times = json.loads(LOCAL_TIMES.read_text()) if LOCAL_TIMES.is_file() else {}
    times[key] = round(seconds, 1)
    LOCAL_TIMES.parent.mkdir(parents=True, exist_ok=True)
    LOCAL_TIMES.write_text(json.dumps(times, indent=1, sort_keys=True) + "\n")


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


class Progress:
    """Turns DVC's ``Running stage`` lines into progress lines and records each stage's time."""

    def __init__(self, plan: list[str], keys: dict[str, str], times: dict[str, float], out=sys.stdout):
        self.plan, self.keys, self.times, self.out = plan, keys, times, out
        self.t0 = time.monotonic()
        self.current: tuple[str, float] | None = None
        self.done: set[str] = set()

    def eta(self, remaining: list[str]) -> str:
        known = [self.times[self.keys[s]] for s in remaining if self.keys.get(s) in self.times]
        unknown = len(remaining) - len(known)
        text = f"about {duration(sum(known))} left" if known else "no earlier times to estimate from"
        return text + (f", {unknown} stage(s) never timed here" if known and unknown else "")

    def finish_current(self) -> None:
        if self.current:
            name, started = self.current
            seconds = time.monotonic() - started
            save_time(self.keys[name], seconds)
            self.times[self.keys[name]] = seconds
            self.done.add(name)
            self.current = None

    def stage_started(self, name: str) -> None:
        self.finish_current()
        if name not in self.plan:  # DVC found one more (the count is an estimate from dvc status)
            self.plan.append(name)
        index = len(self.done) + 1
        remaining = [s for s in self.plan if s not in self.done]
        self.out.write(f"\n[dlzoo] stage {index}/{len(self.plan)} {name} ({duration(time.monotonic() - self.t0)} "
                       f"so far; {self.eta(remaining)})\n")
        self.out.flush()
        self.current = (name, time.monotonic())


def run(targets: list[str], params_file: str = "params.yaml", dvc_args: list[str] | None = None) -> int:
    """``dvc repro [dvc_args] targets`` with progress lines; returns its exit status."""
    stages = yaml.safe_load(Path("dvc.yaml").read_text())["stages"]
    unknown = [t for t in targets if t not in stages]
    if unknown:
        raise ValueError(f"no stage {', '.join(unknown)} in dvc.yaml (stages: {', '.join(stages)})")
    status = subprocess.run(["dvc", "status", "--json", *(["--with-deps", *targets] if targets else [])],
                            capture_output=True, text=True)
    if status.returncode != 0:
        sys.stderr.write(status.stderr)
        return status.returncode
    forced = "--force" in (dvc_args or []) or "-f" in (dvc_args or [])
    plan = planned(stages, set(stages) if forced else set(json.loads(status.stdout or "{}")), targets)
    params = load_params(params_file)
    keys = stage_keys(stages, params)
    progress = Progress(plan, keys, load_times())
    print(f"[dlzoo] dvc repro: {len(plan)} stage(s) to run at most; {progress.eta(plan)}", flush=True)
    proc = subprocess.Popen(["dvc", "repro", *(dvc_args or []), *targets], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    pending = b""
    fd = proc.stdout.fileno()
    while chunk := os.read(fd, 65536):  # as it comes: progress bars end lines with \r, not \n
        sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        *lines, pending = re.split(rb"[\r\n]", pending + chunk)
        pending = pending[-4096:]  # a bar redrawn without an end of line never grows this
        for line in lines:
            match = RUNNING.search(line.decode(errors="replace"))
            if match:
                progress.stage_started(match.group(1))
    rc = proc.wait()
    if rc == 0:
        progress.finish_current()
    print(f"[dlzoo] dvc repro {'finished' if rc == 0 else f'failed ({rc})'} after "
          f"{duration(time.monotonic() - progress.t0)}; {len(progress.done)} stage(s) ran", flush=True)
    return rc
