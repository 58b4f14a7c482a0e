"""`dlzoo repro`: the stages a run may execute, the ETA from measured stage times, and a real `dvc repro`
of a two-stage project with its progress lines."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from pipelines import repro

STAGES = {
    "data_a": {"cmd": "x", "deps": ["pipelines/a.py"], "params": ["a"], "outs": ["data/a"]},
    "train_a": {"cmd": "x", "deps": ["data/a", "pipelines/t.py"], "outs": ["artifacts/a/model.pt"],
                "metrics": [{"artifacts/a/metrics.json": {"cache": False}}]},
    "evaluate_a": {"cmd": "x", "deps": ["data/a", "artifacts/a/model.pt"], "outs": ["reports/a/d.json"]},
    "data_b": {"cmd": "x", "deps": ["pipelines/b.py"], "params": ["b"], "outs": ["data/b"]},
    "scoreboard": {"cmd": "x", "deps": ["artifacts/a/metrics.json", "data/b/summary.json"], "outs": ["s.md"]},
}


def test_plan_is_the_changed_stages_and_what_lies_downstream_within_the_targets():
    assert repro.planned(STAGES, {"train_a"}, []) == ["train_a", "evaluate_a", "scoreboard"]
    assert repro.planned(STAGES, {"data_b"}, []) == ["data_b", "scoreboard"]
    # a target bounds the run: nothing downstream of it
    assert repro.planned(STAGES, {"data_a"}, ["train_a"]) == ["data_a", "train_a"]
    assert repro.planned(STAGES, {"data_b"}, ["evaluate_a"]) == []


def test_eta_uses_times_measured_for_the_same_params_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    keys = repro.stage_keys(STAGES, {"a": {"n": 1}, "b": {"n": 2}})
    other = repro.stage_keys(STAGES, {"a": {"n": 9}, "b": {"n": 2}})
    # a params change upstream changes the keys downstream (train_a reads data_a's output), not beside it
    assert [k for k in keys if keys[k] != other[k]] == ["data_a", "train_a", "evaluate_a", "scoreboard"]
    out = io.StringIO()
    progress = repro.Progress(["data_a", "train_a", "evaluate_a"], keys,
                              {keys["data_a"]: 60.0, keys["train_a"]: 3600.0}, out)
    assert progress.eta(progress.plan) == "about 1 h 1 min left, 1 stage(s) never timed here"
    progress.stage_started("data_a")
    progress.stage_started("train_a")
    assert "[dlzoo] stage 1/3 data_a" in out.getvalue() and "[dlzoo] stage 2/3 train_a" in out.getvalue()
    saved = json.loads((tmp_path / repro.LOCAL_TIMES).read_text())
    assert list(saved) == [keys["data_a"]] and saved[keys["data_a"]] < 5  # data_a's real (short) time


def test_dlzoo_repro_runs_dvc_and_prints_a_line_per_stage(tmp_path):
    (tmp_path / "params.yaml").write_text("a: {n: 3}\n")
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n"
        "  make:\n    cmd: python -c \"open('x.txt','w').write('3')\"\n    params: [a]\n    outs: [x.txt]\n"
        "  use:\n    cmd: python -c \"open('y.txt','w').write(open('x.txt').read()*2)\"\n"
        "    deps: [x.txt]\n    outs: [y.txt]\n")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for cmd in (["git", "init", "-q"], ["dvc", "init", "-q"]):
        subprocess.run(cmd, cwd=tmp_path, check=True, env=env)
    run = subprocess.run([sys.executable, "-m", "pipelines.cli", "repro"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 stage(s) to run at most" in run.stdout
    assert "[dlzoo] stage 1/2 make" in run.stdout and "[dlzoo] stage 2/2 use" in run.stdout
    assert "Running stage 'make'" in run.stdout  # DVC's own output passes through
    assert (tmp_path / "y.txt").read_text() == "33"
    times = json.loads((tmp_path / ".dvc/tmp/stage_seconds.json").read_text())
    assert sorted(k.split(":")[0] for k in times) == ["make", "use"]
    again = subprocess.run([sys.executable, "-m", "pipelines.cli", "repro"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120)
    assert "0 stage(s) to run at most" in again.stdout and "[dlzoo] stage" not in again.stdout
    bad = subprocess.run([sys.executable, "-m", "pipelines.cli", "repro", "nope"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "no stage nope" in bad.stderr
