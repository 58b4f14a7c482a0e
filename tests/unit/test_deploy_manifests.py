"""The deploy files checked by the tools that would reject them in production.

* ``deploy/k8s``: ``kubernetes-validate`` (the Kubernetes OpenAPI schemas, strict: unknown fields fail). The
  KubeRay ``RayJob`` has no schema offline, so its pod templates are validated as core ``PodTemplate``s and its
  entrypoint must name a real profile and model.
* ``deploy/prometheus``: ``promtool check config`` (which also checks the rule files it names) and
  ``promtool check rules``.
* ``deploy/docker/compose.yaml``: parsed, every path it names exists, every port is published on loopback.
* ``deploy/grafana``: every panel's query is valid PromQL (``promtool``) and names only metrics something in the
  project exports (the live scrape is checked in ``tests/integration/test_prometheus.py``).

    .venv/bin/pytest tests/unit/test_deploy_manifests.py
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
K8S_VERSION = "1.37.0"
PROMTOOL = shutil.which("promtool")  # Debian's prometheus package (scripts/setup.sh installs it)


def k8s_documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.mark.parametrize("path", sorted((DEPLOY / "k8s").glob("*.yaml")), ids=lambda p: p.name)
def test_k8s_manifest_passes_kubernetes_validate(path):
    for doc in k8s_documents(path):
        if doc["kind"] == "RayJob":  # a CRD: its pod templates are core objects, validated below
            continue
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def rayjob() -> dict:
    (doc,) = k8s_documents(DEPLOY / "k8s/rayjob.yaml")
    assert (doc["apiVersion"], doc["kind"]) == ("ray.io/v1", "RayJob")
    return doc


def validate_pod_template(template: dict) -> None:
    """A RayJob group's pod template, validated as the core ``PodTemplate`` it is."""
    kubernetes_validate.validate({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"},
                                  "template": template}, K8S_VERSION, strict=True)


def test_rayjob_pod_templates_are_valid_pod_templates():
    cluster = rayjob()["spec"]["rayClusterSpec"]
    groups = [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]
    for group in groups:
        validate_pod_template(group["template"])
    for group in cluster["workerGroupSpecs"]:
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]


def test_rayjob_entrypoint_names_a_real_profile_model_and_ray_version():
    import ray

    from pipelines import registry

    spec = rayjob()["spec"]
    words = spec["entrypoint"].split()
    assert words[0] == "dlzoo" and "train" in words
    profile = words[words.index("--profile") + 1]
    assert (ROOT / "profiles" / f"{profile}.yaml").is_file(), f"no profiles/{profile}.yaml"
    registry.get(words[words.index("train") + 1])  # raises on an unknown model
    assert spec["rayClusterSpec"]["rayVersion"] == ray.__version__


def test_a_bad_manifest_is_rejected():
    """The check can fail: an unknown field and a wrongly typed one are refused."""
    (deployment, _) = k8s_documents(DEPLOY / "k8s/torchserve.yaml")
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError, match="replicas|two"):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)
    template = rayjob()["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]
    template["spec"]["containers"][0]["resourcez"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="resourcez"):
        validate_pod_template(template)


def promtool(*args: str) -> subprocess.CompletedProcess:
    assert PROMTOOL, "promtool is missing: bash scripts/setup.sh installs Debian's prometheus package"
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("name", ["prometheus.yml", "prometheus.compose.yml"])
def test_prometheus_config_passes_promtool(name):
    result = promtool("check", "config", str(DEPLOY / "prometheus" / name))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "alerts.yml" in result.stdout + result.stderr  # the rule file was found and checked with it


def test_alert_rules_pass_promtool():
    result = promtool("check", "rules", str(DEPLOY / "prometheus/alerts.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_a_broken_rule(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("groups: [{name: x, rules: [{record: 'a:b', expr: 'rate(x[5m]'}]}]\n")
    assert promtool("check", "rules", str(broken)).returncode != 0


def test_compose_file_names_real_paths_and_binds_loopback():
    compose_dir = DEPLOY / "docker"
    compose = yaml.safe_load((compose_dir / "compose.yaml").read_text())
    assert set(compose) == {"services"}
    for name, service in compose["services"].items():
        assert "image" in service, f"{name}: no image"
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert (compose_dir / source).exists(), f"{name}: volume source {source} does not exist"
        if "build" in service:
            context = compose_dir / service["build"]["context"]
            assert (context / service["build"]["dockerfile"]).is_file(), f"{name}: no Dockerfile"
        for arg in service.get("command", []):
            if arg.startswith("--config.file=/etc/prometheus/"):
                assert (DEPLOY / "prometheus" / Path(arg).name).is_file(), arg
    # the Prometheus inside compose scrapes compose's own service names
    scraped = yaml.safe_load((DEPLOY / "prometheus/prometheus.compose.yml").read_text())
    for job in scraped["scrape_configs"]:
        for target in job["static_configs"][0]["targets"]:
            assert target.split(":")[0] in compose["services"], f"{job['job_name']} scrapes {target}"


def dashboard_queries() -> list[str]:
    found = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("expr"), str):
                found.append(node["expr"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads((DEPLOY / "grafana/dlzoo.json").read_text()))
    return found


def metric_names(expr: str) -> set[str]:
    """Names of the series an expression reads: what is left once label matchers, ranges, grouping clauses,
    numbers and function calls are taken out."""
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", expr)  # label matchers, range selectors
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"(?<![\w:])\d+(?:\.\d*)?(?:e[+-]?\d+)?", " ", expr)  # numbers, 1e6 included
    expr = re.sub(r"[a-zA-Z_]\w*\s*\(", "(", expr)  # function names
    return set(re.findall(r"[a-zA-Z_:][\w:]*", expr)) - {"and", "or", "unless", "offset", "bool"}


def exported_metric_names() -> set[str]:
    """What the project exports: dlzoo's request metrics, TorchServe's (its own metrics.yaml), training's."""
    import csv

    import prometheus_client
    import ts

    import services.face  # noqa: F401  (registers dlzoo_face_operations)
    import services.metrics  # noqa: F401
    from pipelines import registry

    suffixes = {"histogram": ("_bucket", "_sum", "_count"), "counter": ("_total",)}
    names = {metric.name + suffix for metric in prometheus_client.REGISTRY.collect()
             for suffix in suffixes.get(metric.type, ("",))}
    ts_config = yaml.safe_load((Path(ts.__file__).parent / "configs/metrics.yaml").read_text())
    for section in ts_config.values():
        for kind in section.values() if isinstance(section, dict) else []:
            for metric in kind or []:
                names.add(metric["name"])
    # dlzoo_train_<column>: every numeric column the training loop writes to a model's history.csv
    for name in registry.MODELS:
        history = ROOT / "artifacts" / name / "history.csv"
        if history.is_file():
            with history.open() as f:
                names |= {f"dlzoo_train_{column}" for column in next(csv.reader(f))}
    return names


def test_grafana_queries_are_valid_promql(tmp_path):
    queries = dashboard_queries()
    assert len(queries) >= 5
    rules = {"groups": [{"name": "grafana", "rules": [{"record": f"grafana:panel_{i}", "expr": q}
                                                       for i, q in enumerate(queries)]}]}
    path = tmp_path / "grafana_rules.yml"
    path.write_text(yaml.safe_dump(rules))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_queries_read_only_exported_metrics():
    exported = exported_metric_names()
    unknown = {name for q in dashboard_queries() for name in metric_names(q)} - exported
    assert not unknown, f"the dashboard reads metrics nothing exports: {sorted(unknown)}"


def test_metric_name_extraction():
    assert metric_names('histogram_quantile(0.5, sum by (le, service) (rate(dlzoo_x_bucket{a="b"}[5m])))') \
        == {"dlzoo_x_bucket"}
    assert metric_names("rate(a_total[5m]) / rate(b_total[5m]) / 1e6") == {"a_total", "b_total"}
    assert metric_names('up{job="torchserve"} == 0 and on (job) x:rec') == {"up", "x:rec"}
