#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian machine, as root: system packages, then the project's venv.
#   bash scripts/setup.sh
# Installs: a Java runtime (TorchServe), Prometheus + Pushgateway, nginx (the deploy proxy), speech synthesisers
# (espeak-ng, flite, Festival) and recordings of real speech for the trigger-word data, and .venv with dlzoo and
# its deps (Kokoro-82M, a neural voice, among them; frozen speech and face models' packages).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v java >/dev/null || need_apt+=(default-jre-headless)
command -v prometheus >/dev/null || need_apt+=(prometheus)
command -v prometheus-pushgateway >/dev/null || need_apt+=(prometheus-pushgateway)
command -v curl >/dev/null || need_apt+=(curl)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need_apt+=(nginx-light)   # deploy/nginx, tested in front of TorchServe
command -v git >/dev/null || need_apt+=(git)
[ -d /usr/share/doc/opencv-doc/examples/data ] || need_apt+=(opencv-doc)   # real photos: detection backgrounds
[ -d /usr/share/datasets/fashion-mnist ] || need_apt+=(dataset-fashion-mnist)   # Courses 1-2's image tasks
command -v espeak-ng >/dev/null || need_apt+=(espeak-ng)   # voices for the trigger-word data
command -v flite >/dev/null || need_apt+=(flite)
# Festival: its ked diphone and slt HTS voices are held-out test voices of the trigger-word data.
[ -d /usr/share/festival/voices/english/ked_diphone ] || need_apt+=(festival festvox-kdlpc16k)
[ -d /usr/share/festival/voices/us/cmu_us_slt_arctic_hts ] || need_apt+=(festival festvox-us-slt-hts)
# Real human speech (none of it says "activate"): negatives, babble and a false-accept set for the trigger word
# (pipelines/data/real_speech.py lists each package, its licence and what it holds).
for pkg in tuxpaint-stamps-default fillets-ng-data-cs fillets-ng-data-nl asterisk-core-sounds-es-wav \
           asterisk-core-sounds-fr-wav asterisk-core-sounds-it-wav asterisk-core-sounds-ru-wav hedgewars-data \
           ktuberling-data klettres-data; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
# Course 5's real text: the World English Bible and Reina-Valera 1909 (SWORD modules, public domain) and mod2imp,
# which reads them (pipelines/data/bible.py)
for pkg in sword-text-web sword-text-sparv libsword-utils; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
  echo "[setup] apt-get install ${need_apt[*]}"
  apt-get update -qq
  # policy-rc.d keeps Debian from starting the packaged services: dlzoo starts its own, on loopback.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/tmp/dlzoo-apt.log
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
stamp=.venv/.dlzoo-installed
want="$(sha256sum pyproject.toml | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[setup] installing Python packages into .venv (torch comes from local disk here; first time ~3 min)"
  .venv/bin/pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  # torch/torchvision first, pinned to the builds this machine carries (pip caps them at these).
  .venv/bin/pip install -q "torch==2.14.1" "torchvision==0.29.1" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/pip install -q -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
  # Frozen speech models are read from these wheels' files only, so their own dependencies (PyAudio, tflite,
  # twine, ...) are not installed: pins in pyproject.toml [tool.dlzoo.model-wheels].
  wheels="$(.venv/bin/python -c 'import tomllib; t = tomllib.load(open("pyproject.toml", "rb"))
print(" ".join(f"{n}=={v}" for n, v in t["tool"]["dlzoo"]["model-wheels"].items()))')"
  # shellcheck disable=SC2086  # one word per pinned wheel
  .venv/bin/pip install -q --no-deps $wheels 2>&1 | grep -v "^WARNING: Location" || true
  # Real photographs of people for the face backends' check (pipelines/realface/photos.py): the test images of
  # face_recognition's sdist, kept as the archive (never installed), read by the pinned file name and sha256.
  .venv/bin/pip download -q --no-deps --no-binary :all: "face_recognition==1.3.0" -d .venv/share/dlzoo/sdists \
    2>&1 | grep -v "^WARNING: Location" || true
  # fail loudly if anything is missing
  .venv/bin/python -c "import torch, torchvision, ray, dvc, ts, pipelines, soundfile, importlib.metadata as m
for wheel in '$wheels'.split(): m.version(wheel.split('==')[0])
import dlib, pathlib; assert pathlib.Path('.venv/share/dlzoo/sdists/face_recognition-1.3.0.tar.gz').is_file()"
  echo "$want" > "$stamp"
fi
echo "[setup] ready: $(.venv/bin/python -c 'import torch, ray; print("torch", torch.__version__, "| ray", ray.__version__)')"
