"""TorchServe's access log -> request metrics: line parsing and following across rotation."""

from __future__ import annotations

from services.access_log import OTHER, AccessLogFollower, parse_line

SERVICES = {"translation", "face"}


def line(path, status=200, ms=12, method="POST"):
    return f'2026-12-06T08:01:02,345 - /127.0.0.1:53422 "{method} {path} HTTP/1.1" {status} {ms}\n'


def test_parse_line_maps_every_inference_route():
    assert parse_line(line("/predictions/translation"), SERVICES) == ("translation", 200, 0.012)
    assert parse_line(line("/predictions/face/1.0", 503, 4000), SERVICES) == ("face", 503, 4.0)
    assert parse_line(line("/v1/models/face:predict", 400), SERVICES) == ("face", 400, 0.012)
    assert parse_line(line("/v2/models/translation/infer"), SERVICES) == ("translation", 200, 0.012)
    assert parse_line(line("/explanations/face"), SERVICES)[0] == "face"
    # a path a client invented never becomes a label of its own
    assert parse_line(line("/predictions/%F0%9F%92%A5" + "x" * 500, 404), SERVICES) == (OTHER, 404, 0.012)
    assert parse_line(line("/ping", method="GET"), SERVICES) is None
    assert parse_line("garbage", SERVICES) is None


def test_follower_reads_new_lines_across_rotation_and_truncation(tmp_path):
    log = tmp_path / "access_log.log"
    log.write_text(line("/predictions/face", 200))  # history of a previous server: skipped
    follower = AccessLogFollower(log, SERVICES)
    assert list(follower.poll()) == []
    with log.open("a") as f:
        f.write(line("/predictions/translation", 400))
        f.write(line("/predictions/face", 500)[:20])  # half a line: waits for its end
    assert list(follower.poll()) == [("translation", 400, 0.012)]
    with log.open("a") as f:
        f.write(line("/predictions/face", 500)[20:])
    log.rename(tmp_path / "access_log.1.log")  # log4j rolls the file over...
    log.write_text(line("/predictions/translation", 200) + line("/predictions/face", 503))  # ...and starts anew
    assert list(follower.poll()) == [("face", 500, 0.012), ("translation", 200, 0.012), ("face", 503, 0.012)]
    log.write_text(line("/predictions/face", 200))  # truncated and rewritten in place
    assert list(follower.poll()) == [("face", 200, 0.012)]
    follower.close()


def test_follower_reads_a_log_that_appears_later_from_its_start(tmp_path):
    log = tmp_path / "access_log.log"
    follower = AccessLogFollower(log, SERVICES)
    assert list(follower.poll()) == []
    log.write_text(line("/predictions/face", 200))
    assert list(follower.poll()) == [("face", 200, 0.012)]
