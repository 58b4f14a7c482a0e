"""Course 3's strategy report (pipelines/strategy): the gaps and the recommendation, each family's train-dev
draw (new examples of the training distribution, none of them trained on) and its views. The whole stage runs
for every model in the smoke repro (tests/integration/test_dvc_pipeline.py)."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from pipelines import registry
from pipelines.strategy import report
from tests.conftest import ROOT

COUNTS = dict.fromkeys(report.SPLITS, 10_000)


@pytest.mark.parametrize("errors, human, main", [
    ({"train": 0.10, "train_dev": 0.11, "dev": 0.115, "test": 0.12}, 0.01, "avoidable_bias"),
    ({"train": 0.02, "train_dev": 0.09, "dev": 0.10, "test": 0.10}, 0.01, "variance"),
    ({"train": 0.02, "train_dev": 0.03, "dev": 0.12, "test": 0.12}, 0.01, "data_mismatch"),
    ({"train": 0.02, "train_dev": 0.025, "dev": 0.03, "test": 0.09}, 0.01, "dev_overfitting"),
    ({"train": 0.012, "train_dev": 0.013, "dev": 0.014, "test": 0.015}, 0.01, "none"),
])
def test_the_largest_gap_decides_the_course_s_recommendation(errors, human, main):
    result = report.analyse(errors, COUNTS, human, tolerance=0.005)
    assert result["main"] == main
    assert result["advice"] == report.ADVICE[main]
    gaps = result["gaps"]
    assert gaps["avoidable_bias"]["value"] == pytest.approx(errors["train"] - human)
    assert gaps["variance"]["value"] == pytest.approx(errors["train_dev"] - errors["train"])
    assert gaps["data_mismatch"]["value"] == pytest.approx(errors["dev"] - errors["train_dev"])
    assert gaps["dev_overfitting"]["value"] == pytest.approx(errors["test"] - errors["dev"])


def test_a_gap_inside_sampling_noise_is_marked():
    errors = {"train": 0.10, "train_dev": 0.12, "dev": 0.12, "test": 0.12}
    few, many = report.analyse(errors, dict.fromkeys(report.SPLITS, 100), 0.09, 0.005), report.analyse(
        errors, COUNTS, 0.09, 0.005)
    small, large = few["gaps"]["variance"], many["gaps"]["variance"]
    assert small["within_noise"] and not large["within_noise"]  # 2 points on 100 examples: noise; on 10,000: not
    assert many["main"] == "variance"
    assert few["main"] == "none"  # no gap stands out of the noise of 100 examples
    assert small["se"] == pytest.approx(np.hypot(np.sqrt(0.1 * 0.9 / 100), np.sqrt(0.12 * 0.88 / 100)))


def test_the_report_shows_every_split_gap_and_the_recommendation():
    spec = registry.get("c2w3_softmax")
    errors = {"train": 0.02, "train_dev": 0.09, "dev": 0.10, "test": 0.10}
    result = {"metric": "accuracy", "errors": errors, "examples": COUNTS, "scored": COUNTS, "unit": "images",
              "human_error": 0.01, "human_note": "a stated proxy", **report.analyse(errors, COUNTS, 0.01, 0.005)}
    text = report.render(spec, result, ["| a | b |"], ["errors.png"])
    for label in ("**1.00 %**: a stated proxy", "scored images", "train (sample)", "train-dev", "| dev |", "| test |",
                  "avoidable bias",
                  "data mismatch", "**largest**", report.ADVICE["variance"], "![errors.png](strategy/errors.png)",
                  "| a | b |"):
        assert label in text, label


def test_every_model_has_a_family_a_human_level_proxy_and_a_metric():
    from pipelines.params import load_params

    # style transfer optimises pictures: no train/dev/test error, so no strategy report (and none is derived); the
    # the smiles, the hands, transfer-learning crops, the U-Net scenes, the names, the chorales, the Emojify sentences
    # and the Bible text have no strategy module (no train-dev draw) yet
    without = {spec.name for spec in registry.MODELS.values() if not registry.dataset(spec.dataset).strategy}
    assert without == {"c4w1_happy", "c4w1_signs_convnet", "c4w2_signs_resnet50", "c4w4_style_transfer",
                       "c4w4_style_transfer_vgg16", "c4w3_unet",
                       "c4w2_transfer_scratch", "c4w2_transfer_frozen", "c4w2_transfer_finetune",
                       "c5w1_charlm_rnn", "c5w1_charlm_lstm", "c5w1_music_lstm", "c5w2_emojify_v1", "c5w2_emojify_v2",
                       "c5w2_word2vec", "c5w4_transformer_en_es", "c5w3_attention_rnn_en_es"}
    for params in (load_params(ROOT / "params.yaml"), load_params(ROOT / "params.yaml", profile="smoke")):
        for spec in registry.MODELS.values():
            if spec.name in without:
                continue
            dataset = registry.dataset(spec.dataset)
            assert dataset.strategy and dataset.train_dev, spec.name
            error, note = report.human_level(params, spec.name)
            assert 0.0 <= error < 0.5 and note, spec.name
            assert spec.strategy_key


@pytest.mark.parametrize("level, message", [
    (None, "needs an error"), ({"error": 0.01}, "needs an error"), ({"error": "1 %", "note": "x"}, "needs an error"),
    ({"error": 1.5, "note": "x"}, r"in \[0, 1\)"),
])
def test_a_missing_or_wrong_human_level_names_the_key(level, message):
    with pytest.raises(ValueError, match=message) as err:
        report.human_level({"m": {"human_level": level}}, "m")
    assert "m.human_level" in str(err.value)


def test_translation_train_dev_is_new_strings_of_the_training_formats(smoke_params, tmp_path):
    from pipelines.data import dates
    from pipelines.strategy.train_dev import translation

    params = smoke_params["data_translation"]
    dates.write_dataset(params, tmp_path / "data")
    summary = translation.write_train_dev(params, tmp_path / "data", tmp_path / "td", 140, seed=0)
    pairs = dates.read_tsv(tmp_path / "td" / "train_dev.tsv")
    assert len(pairs) == 140 and summary["dates"] == 112  # train's mix: 1200 dates to 300 non-dates
    seen = {ex.source for split in dates.SPLITS for ex in dates.read_tsv(tmp_path / "data" / f"{split}.tsv")}
    assert not seen & {ex.source for ex in pairs}  # never a string of any split, train included
    train_families = {ex.family for ex in dates.read_tsv(tmp_path / "data" / "train.tsv")}
    assert {ex.family for ex in pairs} <= train_families


def test_planar_train_dev_is_a_fresh_draw_and_views_name_every_split(smoke_params, tmp_path):
    from pipelines.data import planar as data
    from pipelines.strategy import planar
    from pipelines.strategy.train_dev import planar as draw

    params = copy.deepcopy(smoke_params["data_planar"])
    params["sets"]["flower"]["course_draw"] = True  # the notebook's fixed points must not come back
    data.write_dataset(params, tmp_path / "data")
    sizes = draw.write_train_dev(params, tmp_path / "data", tmp_path / "td", None, seed=0)
    assert sizes["flower"] == params["sets"]["flower"]["train"]
    train = np.load(tmp_path / "data" / "flower_train.npy")
    fresh = np.load(tmp_path / "td" / "flower_train_dev.npy")
    assert fresh.shape == train.shape and not np.isclose(fresh[:, :2][:, None], train[:, :2][None]).all(-1).any()

    class Task:
        params = {"set": "flower"}

    view = tmp_path / "view"
    view.mkdir()
    assert planar.view(tmp_path / "td", "train_dev", view, 7, 0, Task()) == 7
    copies = [np.load(view / f"flower_{split}.npy") for split in data.SPLITS]
    assert all((c == copies[0]).all() for c in copies) and len(copies[0]) == 7


def test_fashion_train_dev_never_holds_a_training_image(tmp_path):
    from pipelines.data import fashion
    from pipelines.strategy.train_dev import fashion as draw
    from tests.unit.test_fashion import write_idx

    rng = np.random.default_rng(0)
    for prefix, n in (("train", 600), ("t10k", 200)):
        labels = np.repeat(np.arange(10), n // 10)
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 255, (n, 28, 28)))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", labels)
    params = {"source": str(tmp_path), "seed": 1,
              "tasks": {"pair": {"classes": ["shirt", "t-shirt/top"], "train": 60, "dev": 20, "test": 20},
                        "ten": {"train": 300, "dev": 100, "test": 100}}}
    fashion.write_dataset(params, tmp_path / "data")
    assert draw.write_train_dev(params, tmp_path / "data", tmp_path / "td", 40, seed=0) == {"pair": 40, "ten": 40}
    for task, classes in (("pair", 2), ("ten", 10)):
        used = {row.tobytes() for split in ("train", "dev")
                for row in np.load(tmp_path / "data" / f"{task}_{split}_x.npy").reshape(-1, 784)}
        x = np.load(tmp_path / "td" / f"{task}_train_dev_x.npy")
        y = np.load(tmp_path / "td" / f"{task}_train_dev_y.npy")
        assert not used & {row.tobytes() for row in x.reshape(-1, 784)}
        assert np.bincount(y, minlength=classes).tolist() == [40 // classes] * classes  # balanced, relabelled


def test_face_train_dev_is_new_photos_of_training_people(tmp_path):
    from pipelines.data import faces
    from pipelines.strategy import face
    from pipelines.strategy.train_dev import face as draw

    params = {"seed": 5, "n_train_ids": 4, "n_dev_ids": 2, "n_test_ids": 2, "images_per_id": 2,
              "train_images_per_id": 3, "size": 32}
    faces.write_dataset(params, tmp_path / "data", workers=1)
    assert draw.write_train_dev(params, tmp_path / "data", tmp_path / "td", 2, seed=0) == {"identities": 2,
                                                                                          "images": 4}
    for folder in (tmp_path / "td" / "train_dev").iterdir():
        trained = {p.read_bytes() for p in (tmp_path / "data" / "train" / folder.name).iterdir()}
        new = [p for p in folder.iterdir()]
        assert sorted(p.name for p in new) == ["003.png", "004.png"]  # the identity's next photos
        assert not trained & {p.read_bytes() for p in new}
    view = tmp_path / "view"
    view.mkdir()
    assert face.view(tmp_path / "data", "train", view, 3, 0, None) == 3
    assert (view / "dev").is_dir() and len(list((view / "test").iterdir())) == 3


def test_trigger_word_and_detection_views_sample_records_consistently(tmp_path):
    from pipelines.strategy import detection, trigger_word

    data = tmp_path / "tw"
    (data / "train").mkdir(parents=True)
    records = [{"file": f"train/clip_{i:05d}.wav", "activate_ends_s": [float(i)]} for i in range(10)]
    (data / "train.json").write_text(json.dumps(records))
    view = tmp_path / "tw_view"
    view.mkdir()
    assert trigger_word.view(data, "train", view, 4, 0, None) == 4
    shown = json.loads((view / "test.json").read_text())
    assert len(shown) == 4 and all(r in records for r in shown) and (view / "train").resolve() == data / "train"

    coco = {"images": [{"id": i, "file_name": f"{i}.jpg"} for i in range(1, 7)],
            "annotations": [{"id": k, "image_id": 1 + k % 6} for k in range(18)], "categories": []}
    data = tmp_path / "det"
    (data / "annotations").mkdir(parents=True)
    (data / "images" / "train").mkdir(parents=True)
    (data / "annotations" / "instances_train.json").write_text(json.dumps(coco))
    view = tmp_path / "det_view"
    view.mkdir()
    assert detection.view(data, "train", view, 2, 0, None) == 2
    kept = json.loads((view / "annotations" / "instances_test.json").read_text())
    ids = {im["id"] for im in kept["images"]}
    assert len(ids) == 2 and {a["image_id"] for a in kept["annotations"]} == ids and len(kept["annotations"]) == 6


def test_detection_mistakes_count_misses_and_false_boxes():
    from pipelines.strategy.detection import mistakes

    record = {"boxes": np.array([[0, 0, 10, 10], [20, 20, 30, 30], [50, 50, 60, 60]], np.float32),
              "labels": np.array([0, 1, 0]), "ignore": np.array([False, False, True])}
    found = {"boxes": np.array([[1, 1, 10, 10], [20, 20, 30, 30], [70, 70, 80, 80]], np.float32),
             "scores": np.array([0.9, 0.8, 0.7]), "labels": np.array([0, 0, 0])}
    missed, false = mistakes(record, found)
    assert missed == [1]  # the second box's class is wrong; the ignored box is never a miss
    assert sorted(false) == [1, 2]


def test_a_test_set_that_differs_by_design_is_read_as_mismatch_not_overfitting():
    """The trigger word's test voices are never in dev: test - dev is that difference, and the course's advice is
    to take dev from test's distribution, not to enlarge dev."""
    errors = {"train": 0.02, "train_dev": 0.025, "dev": 0.03, "test": 0.20}
    plain = report.analyse(errors, COUNTS, 0.01, 0.005)
    differ = report.analyse(errors, COUNTS, 0.01, 0.005, dev_test_differ="test's voices are held out")
    assert plain["main"] == "dev_overfitting" and differ["main"] == "dev_test_mismatch"
    assert "test's voices are held out" in differ["advice"] and "bigger dev set" not in differ["advice"]
    spec = registry.get("trigger_word")
    text = report.render(spec, {"metric": "recall", "errors": errors, "examples": COUNTS, "human_error": 0.01,
                                "human_note": "x", **differ}, [], [])
    assert f"| {report.DEV_TEST_LABEL} | +17.00 |" in text and "overfitting to dev (test - dev)" not in text
