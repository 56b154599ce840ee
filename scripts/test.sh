#!/usr/bin/env bash
# Install edgeport with its test dependencies into .venv and run the test suite.
# Everything the tests need comes from here: the pinned Python packages (LiteRT and Keras are
# oracles), the mediapipe 0.10.14 wheel (its production .tflite files are the real-model corpus),
# @tensorflow/tfjs for Node and Chromium for the TF.js exports.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q -c constraints.txt -e '.[test]'
if ! ls .cache/wheels/mediapipe-0.10.14-*.whl >/dev/null 2>&1; then
  python -m pip download -q --no-deps --only-binary=:all: mediapipe==0.10.14 -d .cache/wheels
fi
# The TF.js oracles: @tensorflow/tfjs in Node (pinned in tests/js/package-lock.json) and
# Debian's Chromium for the demo page.
if ! [ -x /usr/bin/chromium ]; then
  apt-get update -q && apt-get install -y -q chromium
fi
npm ci --prefix tests/js --no-audit --no-fund --silent
python -m pytest -q "$@"
