"""`dvc repro` of the smoke profile in a fresh copy: every stage runs, a second repro is a no-op,
metrics/plots/push/pull work with the default local remote."""

import json
import shutil

import pytest

from tests.integration.conftest import sh

pytestmark = pytest.mark.integration


def test_repro_builds_every_output(smoke_project):
    from pipelines import registry

    for spec in registry.MODELS.values():
        outputs = [f"artifacts/{spec.name}/model.pt", f"artifacts/{spec.name}/history.csv",
                   f"reports/{spec.name}/metrics.json", f"reports/{spec.name}/details.json",
                   *(f"reports/{spec.name}/{r}" for r in spec.reports)]
        if registry.dataset(spec.dataset).strategy:
            outputs += [f"reports/{spec.name}/strategy.md", f"reports/{spec.name}/strategy.json"]
        outputs += [f"model-store/{spec.service}.mar"] if spec.service else []
        for rel in outputs:
            assert (smoke_project / rel).is_file(), rel
    for rel in ("data/translation/train.tsv", "data/translation/not_dates.tsv",
                "data/detection/annotations/instances_test.json", "reports/scoreboard.md"):
        assert (smoke_project / rel).is_file(), rel
    log = (smoke_project / "repro.log").read_text()
    assert "Running stage 'train_translation'" in log
    scoreboard = (smoke_project / "reports/scoreboard.md").read_text()
    for spec in registry.MODELS.values():
        assert f"[dlzoo] training {spec.name}" in log
        assert f"| {spec.name} | {spec.course} |" in scoreboard


def test_the_search_stage_chooses_what_the_final_model_trains_with(smoke_project):
    """Ray Tune's random search runs in the repro (coarse, then fine); the trained model's params are the
    best trial's settings, not params.yaml's."""
    import torch

    from pipelines import registry
    from pipelines.params import load_params
    from pipelines.training.search import apply

    searched = [spec for spec in registry.MODELS.values() if spec.search]
    assert searched
    log = (smoke_project / "repro.log").read_text()
    for spec in searched:
        folder = smoke_project / "artifacts" / spec.name / "search"
        best = json.loads((folder / "best.json").read_text())
        cfg = load_params(smoke_project / "params.yaml")[spec.name]["search"]
        rows = (folder / "trials.csv").read_text().splitlines()
        assert len(rows) == 1 + sum(cfg["rounds"]) == 1 + best["trials"]
        assert {"coarse", "fine 1"} <= {row.split(",")[1] for row in rows[1:]}
        assert (folder / "trials.png").read_bytes().startswith(b"\x89PNG")
        assert f"Running stage 'search_{spec.name}'" in log
        assert log.index(f"Running stage 'search_{spec.name}'") < log.index(f"Running stage 'train_{spec.name}'")
        trained = torch.load(smoke_project / "artifacts" / spec.name / "model.pt", map_location="cpu",
                             weights_only=False)["params"]
        params = load_params(smoke_project / "params.yaml")[spec.name]
        assert trained["train"] == apply(params, best["settings"])["train"]
        assert trained["model"] == apply(params, best["settings"])["model"]
        assert trained["train"]["lr"] != params["train"]["lr"]  # sampled on a log scale: never the default
        # the final training repeats the best trial to its best epoch, so it ends where that trial peaked on dev
        assert trained["train"]["epochs"] == best["settings"]["train.epochs"] <= cfg["epochs"]
        final = json.loads((smoke_project / "artifacts" / spec.name / "metrics.json").read_text())
        assert final["dev"]["accuracy"] == pytest.approx(best["value"], abs=0.021)


def test_every_model_has_a_strategy_report_from_four_measured_splits(smoke_project):
    """Course 3's report for every model whose dataset has a strategy module, the four services' included: four
    errors each measured on its own examples, the gaps, a recommendation and an error-analysis section. Style
    transfer has no train/dev/test error; the smiles, the hands, the transfer-learning crops, the U-Net scenes, the
    names, the Emojify sentences, and the Bible text have no train-dev draw yet (their datasets declare no strategy
    module)."""
    from pipelines import registry
    from pipelines.params import load_params
    from pipelines.strategy.report import ADVICE, SPLITS
    from pipelines.strategy.train_dev import train_dev_dir

    without = [spec.name for spec in registry.MODELS.values() if not registry.dataset(spec.dataset).strategy]
    assert without == ["c4w1_happy", "c4w1_signs_convnet", "c4w2_signs_resnet50", "c4w3_unet", "c4w4_style_transfer",
                       "c4w4_style_transfer_vgg16",
                       "c4w2_transfer_scratch", "c4w2_transfer_frozen", "c4w2_transfer_finetune",
                       "c5w1_charlm_rnn", "c5w1_charlm_lstm", "c5w1_music_lstm", "c5w2_emojify_v1", "c5w2_emojify_v2",
                       "c5w2_word2vec", "c5w4_transformer_en_es", "c5w3_attention_rnn_en_es"]
    for spec in registry.MODELS.values():
        if spec.name in without:
            continue
        result = json.loads((smoke_project / "reports" / spec.name / "strategy.json").read_text())
        assert set(result["errors"]) == set(SPLITS) and all(0.0 <= e <= 1.0 for e in result["errors"].values())
        assert all(result["examples"][split] > 0 for split in SPLITS), spec.name
        assert result["advice"] == ADVICE[result["main"]]
        text = (smoke_project / "reports" / spec.name / "strategy.md").read_text()
        assert "## Error analysis (test)" in text and result["advice"] in text, spec.name
        figures = smoke_project / "reports" / spec.name / "strategy"
        assert (figures / "errors.md").read_text().startswith(f"# Errors of {spec.name} on test")
        for name in figures.glob("*.png"):
            assert f"(strategy/{name.name})" in text
    params = load_params(smoke_project / "params.yaml")
    for dataset in registry.DATASETS.values():
        if dataset.strategy:
            folder = smoke_project / train_dev_dir(params, dataset)
            assert any(folder.iterdir()), folder


def test_repro_console_is_one_line_per_epoch_without_ray_internals(smoke_project):
    from pipelines import registry

    log = (smoke_project / "repro.log").read_text()
    for spec_name in registry.MODELS:
        assert f"[dlzoo] training {spec_name}" in log
    trainings = [line for line in log.splitlines() if line.startswith("[dlzoo] training ")]  # the curve's too
    epochs = [line for line in log.splitlines() if "[dlzoo] epoch 1/" in line and "train_loss=" in line]
    assert len(epochs) == len(trainings), epochs  # each training's epoch line once (Ray's print patch doubled them)
    assert all("ETA" in line or "in all" in line for line in epochs), epochs
    for internal in ("core_worker.cc", "PreemptionWatcher", "TrainingReport(", "Requesting resources",
                     "Started training worker group", "Setting up process group", "Token authentication",
                     "is empty"):
        assert internal not in log, internal


def test_second_repro_is_a_noop(smoke_project):
    proc = sh("dvc", "repro", cwd=smoke_project)
    assert "Running stage" not in proc.stdout
    assert "Data and pipelines are up to date" in proc.stdout + proc.stderr


def test_metrics_and_plots(smoke_project, tmp_path):
    metrics = json.loads(sh("dvc", "metrics", "show", "--json", cwd=smoke_project).stdout)
    data = json.dumps(metrics)
    for key in ("exact_match", "unseen_formats", "bleu", "char_accuracy"):
        assert key in data
    report = json.loads((smoke_project / "reports/translation/metrics.json").read_text())
    assert set(report) == {"threshold", "test", "unseen_formats", "not_dates"}
    assert 0.0 <= report["test"]["exact_match"] <= 1.0 and 0.0 <= report["not_dates"]["refusal_rate"] <= 1.0
    assert all(report[split]["impossible_answered"] == 0 for split in ("test", "unseen_formats", "not_dates"))
    detection = json.loads((smoke_project / "reports/detection/metrics.json").read_text())
    assert set(detection) == {"test", "new_scenes"}  # new_scenes: photos never used in training
    assert all(0.0 <= split["map50"] <= 1.0 and split["images"] == 10 for split in detection.values())
    sh("dvc", "plots", "show", "-o", str(tmp_path / "plots"), cwd=smoke_project)
    assert (tmp_path / "plots" / "index.html").is_file()


def test_the_face_backends_are_scored_side_by_side_and_the_archive_carries_dlibs_calibration(smoke_project):
    import zipfile

    report = json.loads((smoke_project / "reports/face/backends.json").read_text())
    assert set(report["synthetic"]) == {"course", "dlib"}
    assert all(m["identities"] == 5 and 0.0 <= m["verification_accuracy"] <= 1.0 for m in report["synthetic"].values())
    detection = report["real_photos"]["detection"]
    assert detection["faces"] >= 8 and detection["hits"] + detection["misses"] == detection["faces"]
    assert report["real_photos"]["dlib"]["same_pairs"] >= 3  # pairs of one person's photographs
    calibration = json.loads((smoke_project / "artifacts/face/backends/dlib.json").read_text())
    with zipfile.ZipFile(smoke_project / "model-store/face.mar") as mar:
        assert json.loads(mar.read("artifacts/face/backends/dlib.json")) == calibration
    assert "face (dlib backend, pretrained)" in (smoke_project / "reports/scoreboard.md").read_text()


def test_the_case_studies_table_and_the_stylized_pictures(smoke_project):
    """C4W2's six networks in one generated table; C4W4's pictures over both feature networks, the second one a
    case study trained by the same repro (its model.pt is a dep of the style stage)."""
    table = json.loads((smoke_project / "reports/compare/case_studies.json").read_text())
    assert [r["arch"] for r in table["rows"]] == ["lenet5", "alexnet_style", "vgg16_style", "resnet50", "inception",
                                                  "mobilenet_v2"]
    assert all(r["parameters"] > 0 and r["flops"] > 0 and r["images_per_second"] > 0 and 0 <= r["value"] <= 1
               for r in table["rows"])
    assert table["rows"][3]["parameters"] == 23_528_522  # torchvision's ResNet-50 with ten outputs
    assert "| c4w2_resnet50 | 32 x 32 | 23.529 M |" in (smoke_project / "reports/compare/case_studies.md").read_text()
    for name in ("c4w4_style_transfer", "c4w4_style_transfer_vgg16"):
        metrics = json.loads((smoke_project / "reports" / name / "metrics.json").read_text())
        assert metrics["stylized"]["style_ratio"] > 0
        assert (smoke_project / "reports" / name / "stylized.png").read_bytes().startswith(b"\x89PNG")
    dvc_yaml = (smoke_project / "dvc.yaml").read_text()
    assert "artifacts/c4w2_vgg16/model.pt" in dvc_yaml.split("train_c4w4_style_transfer_vgg16:")[1].split("outs:")[0]


def test_the_transfer_table_and_its_labelled_images_curve(smoke_project):
    """C4W2's transfer rows: one cost table, and each row trained again on fewer labelled crops; the curve's last
    point is the row itself."""
    rows = ["c4w2_transfer_scratch", "c4w2_transfer_frozen", "c4w2_transfer_finetune"]
    table = json.loads((smoke_project / "reports/compare/transfer.json").read_text())
    assert [r["model"] for r in table["rows"]] == rows
    assert table["rows"][0]["parameters"] < table["rows"][1]["parameters"] == table["rows"][2]["parameters"]
    curve = json.loads((smoke_project / "reports/compare/transfer_curve.json").read_text())
    assert [r["model"] for r in curve["rows"]] == rows
    for row in curve["rows"]:
        assert [p["n"] for p in row["points"]] == [16, 32]
        assert all(0 <= p["metrics"][split]["accuracy"] <= 1 for p in row["points"] for split in ("test", "new_scenes"))
        assert row["points"][-1]["metrics"] == json.loads((smoke_project / "reports" / row["model"] /
                                                           "metrics.json").read_text())
    assert "| c4w2_transfer_finetune |" in (smoke_project / "reports/compare/transfer_curve.md").read_text()


def test_the_unet_is_scored_per_pixel_on_unseen_scenes_with_overlays(smoke_project):
    metrics = json.loads((smoke_project / "reports/c4w3_unet/metrics.json").read_text())
    assert set(metrics) == {"test", "new_scenes"}
    for split in metrics.values():
        assert split["images"] == 4 and 0 <= split["object_mean_iou"] <= 1 and 0 < split["pixel_accuracy"] <= 1
        assert 0 < split["mean_iou"] <= 1
    assert (smoke_project / "reports/c4w3_unet/overlays.png").read_bytes().startswith(b"\x89PNG")
    coco = json.loads((smoke_project / "data/segmentation/annotations/instances_test.json").read_text())
    assert all(ann["segmentation"]["counts"] for ann in coco["annotations"])


def test_course5_models_score_held_out_names_written_sentences_and_word_questions(smoke_project):
    """The char LMs on names never trained on, with their samples; Emojify on the hand-written test sentences;
    word2vec on two Bible books beside GloVe."""
    test_names = (smoke_project / "data/names/test.txt").read_text().split()
    for name in ("c5w1_charlm_rnn", "c5w1_charlm_lstm"):
        metrics = json.loads((smoke_project / "reports" / name / "metrics.json").read_text())
        assert metrics["test"]["n"] == len(test_names) and 0 < metrics["test"]["loss_per_char"] < 4
        assert metrics["samples"]["n"] == 20 == len(json.loads((smoke_project / "reports" / name /
                                                                "details.json").read_text())["samples"])
    written = (smoke_project / "pipelines/data/emojify_written.tsv").read_text().splitlines()
    assert (smoke_project / "data/emojify/test.tsv").read_text().splitlines() == [
        line for line in written if not line.startswith("#")]
    for name in ("c5w2_emojify_v1", "c5w2_emojify_v2"):
        metrics = json.loads((smoke_project / "reports" / name / "metrics.json").read_text())
        assert metrics["test"]["n"] == 111 and 0 <= metrics["test"]["accuracy"] <= 1
        assert metrics["train_dev"]["n"] == 20
    metrics = json.loads((smoke_project / "reports/c5w2_word2vec/metrics.json").read_text())
    assert set(metrics) == {"word2vec", "glove", "glove_full"} and metrics["glove_full"]["analogy_course"] == 1.0
    assert "| analogies: all but course | 562 |" in (smoke_project / "reports/c5w2_word2vec/comparison.md").read_text()
    board = (smoke_project / "reports/scoreboard.md").read_text()
    assert "| c5w2_emojify_v1 | C5W2 | test.accuracy | test 0.857" in board


def test_push_then_pull_restores_outputs(smoke_project):
    sh("dvc", "push", cwd=smoke_project)
    model = smoke_project / "artifacts/translation/model.pt"
    original = model.read_bytes()
    model.unlink()
    shutil.rmtree(smoke_project / ".dvc" / "cache")
    sh("dvc", "pull", cwd=smoke_project)
    assert model.read_bytes() == original


@pytest.mark.parametrize("rel, expected", [
    ("pipelines/tasks/trigger_word.py",  # frame_labels: the training targets, not the data (nor the embeddings)
     {"train_trigger_word", "evaluate_trigger_word", "package_trigger_word", "train_wake_word",
      "evaluate_wake_word", "strategy_trigger_word", "strategy_wake_word"}),
    ("pipelines/models/wake_word.py", {"train_wake_word", "evaluate_wake_word", "strategy_wake_word"}),
    ("services/face.py", {"package_face"}),
    ("pipelines/models/seq2seq_attention.py", {"train_translation", "evaluate_translation", "package_translation",
                                               "strategy_translation",  # and the Bible task, which builds it too
                                               "train_c5w4_transformer_en_es", "evaluate_c5w4_transformer_en_es",
                                               "package_c5w4_transformer_en_es", "train_c5w3_attention_rnn_en_es",
                                               "evaluate_c5w3_attention_rnn_en_es"}),
])
def test_an_edit_marks_exactly_the_stages_that_run_the_file(smoke_project, rel, expected):
    path = smoke_project / rel
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\n# an edit\n")
        changed = set(json.loads(sh("dvc", "status", "--json", cwd=smoke_project).stdout))
        assert changed == expected
    finally:
        path.write_bytes(original)
    assert json.loads(sh("dvc", "status", "--json", cwd=smoke_project).stdout) == {}
