"""Every registered op is complete (DESIGN.md "One op, one place"): a NumPy kernel, a version
rule, and builtin options that survive a .tflite write and read unchanged."""

import numpy as np
import pytest

from edgeport.export.tflite import write_tflite
from edgeport.frontends.tflite import read_tflite
from edgeport.graph import Graph, Op, Tensor
from edgeport.ops import OPS, OpDef


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_has_a_kernel_and_a_version(name):
    definition = OPS[name]
    assert type(definition).run_float is not OpDef.run_float or \
        type(definition).prepare is not OpDef.prepare, f"{name} has no NumPy kernel"
    graph = _one_op_graph(name, {})
    assert isinstance(definition.version(graph.ops[0], graph), int)


@pytest.mark.parametrize("name", sorted(n for n in OPS if OPS[n].options is not None))
def test_options_round_trip_through_tflite(name):
    attrs = _non_default_attrs(OPS[name].options)
    read_back = read_tflite(write_tflite(_one_op_graph(name, attrs)))
    assert read_back.ops[0].type == name
    assert read_back.ops[0].attrs == attrs


def _one_op_graph(name, attrs) -> Graph:
    """The op alone over float tensors: enough for the writer, which does not run it."""
    graph = Graph(name="main")
    graph.add_tensor(Tensor("x", (1, 4, 4, 4), np.float32))
    graph.add_tensor(Tensor("w", (4, 1, 1, 4), np.float32, np.ones((4, 1, 1, 4), np.float32)))
    graph.add_tensor(Tensor("y", (1, 4, 4, 4), np.float32))
    graph.inputs, graph.outputs = ["x"], ["y"]
    graph.add_op(Op(name, ["x", "w"], ["y"], attrs))
    return graph


def _non_default_attrs(options) -> dict:
    """Every field set, to a value other than its default where the type allows."""
    from edgeport.ops.options import Bool, Enum, Float, Int, IntVector

    attrs = {}
    for field_name, field in options.fields.items():
        default = options.defaults[field_name]
        if field is Bool:
            attrs[field_name] = not default
        elif field is Int:
            attrs[field_name] = default + 2
        elif field is Float:
            attrs[field_name] = default + 0.5
        elif isinstance(field, IntVector):
            attrs[field_name] = (1, -1, 3)
        elif isinstance(field, Enum):
            others = [v for v in field.by_name if v != default]
            attrs[field_name] = others[0] if others else default
        else:
            attrs[field_name] = default
    return attrs
