"""The project's DVC S3 remote (``.dvc/config``: remote ``s3``, ``s3://dlzoo-dvc/cache``) on an
S3-compatible endpoint: a stage's outputs pushed, deleted here, pulled back byte for byte.

Point it at a real bucket with ``dvc remote modify --local s3 url s3://<bucket>/<prefix>`` (and
``endpointurl`` for a non-AWS store); credentials come from the usual AWS variables or ``~/.aws``.
"""

from __future__ import annotations

import hashlib
import shutil

import pytest

from tests.integration.conftest import copy_project, sh

pytestmark = pytest.mark.integration


def digests(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_dvc_pushes_to_and_pulls_from_the_s3_remote(s3, tmp_path, monkeypatch):
    for key, value in s3.env.items():
        monkeypatch.setenv(key, value)  # sh() passes this process's environment on
    project = copy_project(tmp_path)
    sh("dvc", "repro", "data_translation", cwd=project)
    data = project / "data/translation"
    before = digests(data)
    assert before

    pushed = sh("dvc", "push", "-r", "s3", "data_translation", cwd=project)
    assert "pushed" in pushed.stdout + pushed.stderr
    assert s3.keys("dlzoo-dvc", "cache/files/md5/"), "nothing reached the bucket"

    shutil.rmtree(data)
    shutil.rmtree(project / ".dvc/cache")
    sh("dvc", "pull", "-r", "s3", "data_translation", cwd=project)
    assert digests(data) == before
    status = sh("dvc", "status", "data_translation", cwd=project)
    assert "changed" not in status.stdout, status.stdout
