#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite on the smoke profile: lint, unit, integration
# (real Ray, DVC, TorchServe, Prometheus, Pushgateway). Extra arguments go to pytest.
#   bash scripts/test.sh            # everything (~30 min on 2 cores once set up)
#   bash scripts/test.sh tests/unit # just the unit tests
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source .venv/bin/activate
ruff check .
python -m pytest -q "${@:-tests}"
