"""The quantization plan (edgeport.quantize.plan): the int8 model PTQ writes is the plan
materialized, tensor by tensor, and QAT trains along the same plan."""

from __future__ import annotations

import numpy as np
import pytest

import edgeport.qat as qat
from edgeport.frontends import load
from edgeport.passes import optimize
from edgeport.quantize import calibrate, prepare_float, quantize_int8
from edgeport.quantize.plan import (BiasGrid, FixedGrid, Int8Options, RangeGrid, WeightGrid,
                                    grid_params, plan)
from tests.quantize import models


@pytest.fixture(scope="module")
def separable():
    _, x = models.dataset((16, 16, 3), n=32)
    return models.separable((16, 16, 3), classes=5), x


def _float_graph(model):
    return prepare_float(optimize(load(model)))


@pytest.mark.parametrize("per_channel", [True, False])
def test_int8_model_is_the_plan_materialized(separable, per_channel):
    model, x = separable
    graph = _float_graph(model)
    ranges = calibrate(graph, [[x[i:i + 1]] for i in range(len(x))], progress=False)
    options = Int8Options(per_channel=per_channel, per_channel_dense=per_channel,
                          input_type=np.dtype(np.int8), output_type=np.dtype(np.int8))
    steps = plan(graph, ranges, options)
    assert all(step.integer for step in steps.ops)
    kinds = {type(g) for step in steps.ops for g in [*step.inputs.values(),
                                                     *step.outputs.values()]}
    assert kinds == {RangeGrid, FixedGrid, WeightGrid, BiasGrid}
    planned = {step.op.outputs[j]: grid for step in steps.ops
               for j, grid in step.outputs.items()}
    weights = {step.op.outputs[0]: grid.axis for step in steps.ops
               for grid in step.inputs.values() if isinstance(grid, WeightGrid)}
    quantized = quantize_int8(graph, ranges, options)
    for op in quantized.ops:
        out = op.outputs[0]
        if out in planned:  # each int8 op writes its tensor on the planned grid
            want, have = grid_params(planned[out], ranges), quantized.tensors[out].quant
            assert np.array_equal(have.scale, want.scale), out
            assert np.array_equal(have.zero_point, want.zero_point), out
        if out in weights:  # and reads weights quantized along the planned axis
            stored = quantized.tensors[op.inputs[1]].quant
            assert (stored.scale.size > 1) == (weights[out] is not None), out
    assert weights and any(axis is not None for axis in weights.values()) == per_channel


def test_qat_trains_along_the_ptq_plan(separable):
    model, x = separable
    trained = qat.prepare(model, representative_dataset=x[:16])
    ptq = plan(trained.graph, set(trained.plan.grid), Int8Options())
    assert trained.plan.grid == ptq.grid
    assert ([(s.op.type, s.inputs, s.outputs) for s in trained.plan.ops]
            == [(s.op.type, s.inputs, s.outputs) for s in ptq.ops])
