"""A real Prometheus scraping the deploy config (ports rewritten to the test server's) answers the
latency-histogram quantiles and holds every series the Grafana dashboard reads; a real Pushgateway receives
the training metrics."""

import re
import shutil
import subprocess
import time

import pytest
import requests
import yaml

from pipelines.training.metrics_push import push_epoch_metrics
from tests.conftest import ROOT, free_port
from tests.unit.test_deploy_manifests import dashboard_queries, metric_names

pytestmark = pytest.mark.integration


def wait_http(url, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} never answered")


@pytest.fixture
def pushgateway(tmp_path):
    port = free_port()
    proc = subprocess.Popen([shutil.which("prometheus-pushgateway") or "prometheus-pushgateway",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/-/ready")
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def rendered_config(tmp_path, served, pushgateway) -> str:
    """deploy/prometheus/prometheus.yml with the test's ports and a 1 s scrape interval."""
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    ports = {"torchserve": served.metrics_port, "dlzoo_services": served.exporter_port,
             "pushgateway": int(pushgateway.rsplit(":", 1)[1])}
    for job in config["scrape_configs"]:
        job["static_configs"][0]["targets"] = [
            re.sub(r":\d+$", f":{ports[job['job_name']]}", t) for t in job["static_configs"][0]["targets"]]
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    shutil.copy(ROOT / "deploy/prometheus/alerts.yml", tmp_path / "alerts.yml")
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def query(base, expr):
    r = requests.get(f"{base}/api/v1/query", params={"query": expr}, timeout=10)
    r.raise_for_status()
    return r.json()["data"]["result"]


def test_prometheus_reads_latency_histogram_and_training_metrics(served, pushgateway, tmp_path):
    push_epoch_metrics(pushgateway, "translation", {"epoch": 3, "train_loss": 0.25, "dev_exact_match": 0.9})
    port = free_port()
    prom = subprocess.Popen(["prometheus", f"--config.file={rendered_config(tmp_path, served, pushgateway)}",
                             f"--web.listen-address=127.0.0.1:{port}", f"--storage.tsdb.path={tmp_path / 'tsdb'}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/-/ready")
        deadline = time.monotonic() + 60
        p95 = []
        while time.monotonic() < deadline:
            for _ in range(5):
                requests.post(f"{served.inference_url}/predictions/translation", json={"text": "3 May 1979"},
                              headers=served.auth(), timeout=30)
            p95 = query(base, 'histogram_quantile(0.95, sum by (le) '
                              '(rate(dlzoo_request_latency_seconds_bucket{service="translation"}[30s])))')
            if p95 and p95[0]["value"][1] not in ("NaN", "0"):
                break
            time.sleep(1)
        assert p95, "Prometheus has no latency histogram for the translation service"
        assert 0 < float(p95[0]["value"][1]) < 10
        assert query(base, 'up{job="torchserve"} == 1'), "TorchServe's /metrics is not scraped"
        loss = query(base, 'dlzoo_train_train_loss{model="translation"}')
        assert loss and float(loss[0]["value"][1]) == 0.25
        # every series the Grafana dashboard reads from the services is really exported and scraped
        dashboard = {name for q in dashboard_queries() for name in metric_names(q)
                     if not name.startswith("dlzoo_train_")}
        deadline = time.monotonic() + 30
        while missing := [n for n in sorted(dashboard) if not query(base, f'count({{__name__="{n}"}})')]:
            assert time.monotonic() < deadline, f"the dashboard reads series Prometheus never scraped: {missing}"
            time.sleep(1)
        rules = requests.get(f"{base}/api/v1/rules", timeout=10).json()["data"]["groups"]
        assert any(r["name"] == "dlzoo:request_latency_seconds:p99" for g in rules for r in g["rules"])
    finally:
        prom.terminate()
        prom.wait(20)
