#!/usr/bin/env bash
# The main job: set up, reproduce every pipeline (dvc repro), start the services, print example
# requests and their answers.
#   bash scripts/main.sh          # default profile (params.yaml): good models, about 3 h on 2 cores (README)
#   bash scripts/main.sh smoke    # smoke profile in build/smoke (tiny data, 1 epoch, ~26 min: README)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source .venv/bin/activate
root="$PWD"

profile="${1:-}"
if [ -n "$profile" ]; then
  # A profile other than params.yaml runs in its own copy, so the default outputs stay untouched.
  work="build/$profile"
  rm -rf "$work" && mkdir -p "$work"
  git ls-files -co --exclude-standard -z | xargs -0 -I{} cp --parents {} "$work"/
  dlzoo --profile "$profile" params show > "$work/params.yaml"
  cd "$work"
  git init -q && git add -A && git -c user.name=dlzoo -c user.email=dlzoo@localhost commit -qm "$profile"
fi

echo "== dvc repro ($([ -n "$profile" ] && echo "profile $profile" || echo "default profile"))"
dlzoo repro   # dvc repro, with a line per stage: its number, the time so far and an ETA
echo "== dvc metrics show"
dvc metrics show
echo "== reports/scoreboard.md"
cat reports/scoreboard.md

echo "== dlzoo serve start"
dlzoo serve stop >/dev/null 2>&1 || true
dlzoo serve start
echo "== example requests"
python "$root/scripts/examples.py"
echo "== services are running; stop them with: cd $PWD && dlzoo serve stop"
