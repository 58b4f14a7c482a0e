"""deploy/nginx/dlzoo.conf in a real nginx in front of the test's TorchServe: forms refused with 415
JSON (TorchServe's frontend would answer 500), the inference routes forwarded with their token, the
rest of TorchServe's API not exposed."""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import numpy as np
import pytest
import requests

from pipelines.serving.server import free_port
from tests.conftest import ROOT

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def proxy(served, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nginx")
    port = free_port()
    site = (ROOT / "deploy" / "nginx" / "dlzoo.conf").read_text()
    site = re.sub(r"listen 127\.0\.0\.1:\d+;", f"listen 127.0.0.1:{port};", site)
    site = site.replace("http://127.0.0.1:8080", served.inference_url)
    (tmp / "dlzoo.conf").write_text(site)
    temps = " ".join(f"{k}_temp_path {tmp / k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp / "nginx.conf").write_text(
        f"worker_processes 1; daemon off; pid {tmp / 'nginx.pid'}; error_log {tmp / 'error.log'};\n"
        f"events {{}}\nhttp {{ access_log off; {temps} include {tmp / 'dlzoo.conf'}; }}\n")
    proc = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(tmp / "nginx.conf"),
                             "-p", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/", timeout=2)
            break
        except requests.ConnectionError:
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(10)


def test_forms_are_refused_with_415_json(proxy, served):
    rng = np.random.default_rng(1)
    for ctype in ("application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                  "Application/X-WWW-Form-Urlencoded; charset=utf-8"):
        body = rng.integers(0, 256, 300, dtype=np.uint8).tobytes()
        r = requests.post(f"{proxy}/predictions/translation", data=body,
                          headers={"Content-Type": ctype, **served.auth()}, timeout=30)
        assert r.status_code == 415 and "forms are not accepted" in r.json()["error"], (ctype, r.text)


def test_inference_goes_through_with_the_token(proxy, served):
    r = requests.post(f"{proxy}/predictions/translation", json={"text": "3 May 1979"}, headers=served.auth(),
                      timeout=30)
    assert r.status_code in (200, 422) and r.headers["Content-Type"].startswith("application/json"), r.text
    assert requests.post(f"{proxy}/predictions/translation", json={"text": "3 May 1979"},
                         timeout=30).status_code in (400, 401)  # TorchServe's token check still applies


def test_only_the_inference_routes_are_exposed(proxy, served):
    for path in ("/models", "/metrics", "/api-description", "/v2/models/translation/infer", "/predictions/x"):
        r = requests.post(f"{proxy}{path}", data=b"{}", headers=served.auth(), timeout=30)
        assert r.status_code == 404 and r.json()["error"], (path, r.status_code)
    assert requests.get(f"{proxy}/predictions/translation", headers=served.auth(), timeout=30).status_code == 405
