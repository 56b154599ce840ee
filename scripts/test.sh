#!/usr/bin/env bash
# Install edgeport with its test dependencies into .venv and run the test suite.
# Everything the tests need comes from here: the pinned Python packages (LiteRT is the oracle)
# and the mediapipe 0.10.14 wheel, whose production .tflite files are the real-model corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q -c constraints.txt -e '.[test]'
if ! ls .cache/wheels/mediapipe-0.10.14-*.whl >/dev/null 2>&1; then
  python -m pip download -q --no-deps --only-binary=:all: mediapipe==0.10.14 -d .cache/wheels
fi
python -m pytest -q "$@"
