"""dvc.yaml is derived from the registry; every stage's code deps are the import closure of what it runs."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from pipelines import pipeline, registry
from pipelines.imports import closure
from pipelines.params import load_params
from tests.conftest import ROOT


def derived():
    return yaml.safe_load(pipeline.render(load_params(ROOT / "params.yaml")))["stages"]


def test_committed_dvc_yaml_is_the_registry_s():
    assert pipeline.check(load_params(ROOT / "params.yaml")) == []


def test_the_word_cache_is_a_persistent_output_of_the_data_stage_only():
    stages = derived()
    cache = load_params(ROOT / "params.yaml")["data_trigger_word"]["cache_dir"]
    assert {cache: {"persist": True}} in stages["data_trigger_word"]["outs"]
    assert not [name for name, stage in stages.items() if cache in stage.get("deps", [])]
    # set to null, the cache lives outside DVC and the stage has one output again
    params = load_params(ROOT / "params.yaml")
    params["data_trigger_word"]["cache_dir"] = None
    assert yaml.safe_load(pipeline.render(params))["stages"]["data_trigger_word"]["outs"] == ["data/trigger_word"]


def test_closure_follows_lazy_and_relative_imports(tmp_path):
    pkg = tmp_path / "pipelines"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "a.py").write_text("def f():\n    from . import b\n    import pipelines.c\n")
    (pkg / "sub" / "b.py").write_text("from ..d import x\n")
    (pkg / "c.py").write_text("import json\n")
    (pkg / "d.py").write_text("x = 1\n")
    (pkg / "unused.py").write_text("")
    assert closure(["pipelines.sub.a"], root=tmp_path) == [
        "pipelines/__init__.py", "pipelines/c.py", "pipelines/d.py", "pipelines/sub/__init__.py",
        "pipelines/sub/a.py", "pipelines/sub/b.py"]


def stages_depending_on(stages, rel):
    return {name for name, stage in stages.items() if rel in stage.get("deps", [])}


def test_one_model_s_code_reaches_only_its_own_stages():
    stages = derived()
    # frame_labels (the trigger word's training targets) is the task's: editing it reruns training, not the data;
    # the wake word's task fills the trigger word's hooks, so it reruns too (and its embeddings do not)
    assert stages_depending_on(stages, "pipelines/tasks/trigger_word.py") == {
        "train_trigger_word", "evaluate_trigger_word", "package_trigger_word", "train_wake_word",
        "evaluate_wake_word", "strategy_trigger_word", "strategy_wake_word"}
    assert stages_depending_on(stages, "data/trigger_word") == {
        "data_trigger_word_embeddings", "train_trigger_word", "evaluate_trigger_word", "train_wake_word",
        "evaluate_wake_word", "train_dev_trigger_word", "strategy_trigger_word", "strategy_wake_word"}
    assert "data/trigger_word_embeddings" in stages["train_wake_word"]["deps"]
    # the generator's effects reach the data stage only: training reruns when the bytes it writes change
    # ... and the train-dev draw, which runs the same generator (Course 3's strategy report)
    assert stages_depending_on(stages, "pipelines/data/trigger_word/effects.py") == {
        "data_trigger_word", "train_dev_trigger_word"}
    assert stages_depending_on(stages, "pipelines/data/dates.py") == {
        "data_translation", "train_translation", "evaluate_translation", "package_translation",
        "train_dev_translation", "strategy_translation"}
    # a family's strategy module reaches its train-dev draw and its models' reports, nothing that trains
    assert stages_depending_on(stages, "pipelines/strategy/planar.py") == {
        f"strategy_{m.name}" for m in registry.MODELS.values() if m.dataset == "planar"}
    assert stages_depending_on(stages, "pipelines/strategy/train_dev/planar.py") == {"train_dev_planar"}
    assert stages_depending_on(stages, "pipelines/training/search.py") == {
        f"{stage}_{m.name}" for m in registry.MODELS.values() if m.search for stage in ("search", "train")}
    assert stages_depending_on(stages, "services/face.py") == {"package_face"}
    assert stages_depending_on(stages, "pipelines/models/yolo.py") == {
        "train_detection", "evaluate_detection", "package_detection", "strategy_detection"}
    assert stages_depending_on(stages, "services/exporter.py") == set()  # not in any archive
    shared = stages_depending_on(stages, "services/base.py")
    assert shared == {f"package_{spec.name}" for spec in registry.services().values()}  # stages are per model
    # an archive names its task in service.json and carries no registry: registering a model repackages nothing
    assert stages_depending_on(stages, "pipelines/registry.py") == {"scoreboard"}


# Heavy third-party packages imported once before the checks fork: none of them imports a project module, so the
# project files each check finds are the same as in a fresh interpreter, at a fraction of the time.
PRELOAD = ("numpy", "torch", "torchvision", "PIL.Image", "yaml", "click", "tqdm", "ray", "ray.train")


def runtime_project_files(checks: list[tuple[list[str], str]]) -> list[set[str]]:
    """For each (modules, calls): the project files in ``sys.modules`` after importing ``modules`` and running
    ``calls`` in an interpreter holding no project module (one forked child per check, after ``PRELOAD``)."""
    code = f"""import importlib, json, os, sys
for m in {PRELOAD!r}:
    importlib.import_module(m)
project = [f for f in (getattr(m, '__file__', None) or '' for m in list(sys.modules.values()))
           if f.startswith({str(ROOT) + "/"!r}) and "/.venv/" not in f]
assert not project, project
for modules, calls in json.loads(sys.stdin.read()):
    pid = os.fork()
    if pid == 0:
        for m in modules:
            importlib.import_module(m)
        exec(calls)
        print(json.dumps(sorted(getattr(m, '__file__', None) or '' for m in list(sys.modules.values()))), flush=True)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert status == 0, (modules, calls)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, input=json.dumps(checks), capture_output=True,
                         text=True, check=True)
    found = []
    for line in out.stdout.strip().splitlines()[-len(checks):]:
        found.append({path[len(str(ROOT)) + 1:] for path in json.loads(line)
                      if path.startswith(str(ROOT) + "/") and "/.venv/" not in path and "/tests/" not in path})
    return found


def test_every_module_a_stage_imports_is_among_its_deps():
    stages = derived()
    checks = [(f"data_{name}", ["pipelines.registry"], f"from pipelines import registry\n"
                                                        f"importlib.import_module(registry.dataset({name!r}).module)")
              for name in registry.DATASETS]
    for spec in registry.MODELS.values():
        task = f"registry.get({spec.name!r}).task_class()"
        checks += [(f"train_{spec.name}", ["pipelines.training.driver"], f"from pipelines import registry\n{task}"),
                   (f"evaluate_{spec.name}", ["pipelines.training.artifacts"],
                    f"from pipelines import registry\n{task}")]
        if spec.service:
            checks.append((f"package_{spec.name}", ["pipelines.serving.package", f"services.{spec.service}"],
                           f"from pipelines import registry\n{task}"))
    found = runtime_project_files([(modules, calls) for _, modules, calls in checks])
    assert len(found) == len(checks)
    for (stage, _, _), files in zip(checks, found, strict=True):
        deps = set(stages[stage]["deps"]) | set(pipeline.DECLARATIONS)
        missing = files - deps
        assert not missing, f"{stage} imports {sorted(missing)} at run time, not among its deps"
