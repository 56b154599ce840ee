#!/usr/bin/env bash
# The wheels bench/gpu_check.py needs on this project's GPU machines (Python 3.12, jax with its
# CUDA plugin, no network) beyond what their image has: keras (and its namex, optree) to build
# MobileNetV2, and the `tflite` schema package edgeport reads and writes models with. About 3 MB,
# saved to .whl/ (ignored by git) for the device tool to carry; bench/README.md has the command.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
  tflite==2.18.0 keras==3.15.1 namex==0.1.0 optree==0.20.0
ls .whl
