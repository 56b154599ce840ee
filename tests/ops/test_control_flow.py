"""IF against LiteRT: the branch its runtime condition selects runs, resized to the inputs,
on NumPy and on the jax backend (which runs the branch with an executor of its own)."""

import numpy as np
import pytest

from edgeport.graph import Graph, Op, Tensor
from edgeport.shapes import validate
from tests.opmodels import assert_matches_litert


def branch(name: str, op_type: str, constant: float) -> Graph:
    g = Graph(name=name)
    g.add_tensor(Tensor("x", (-1, 3), np.float32))
    g.add_tensor(Tensor("k", (), np.float32, np.array(constant, np.float32)))
    g.add_tensor(Tensor("y", (-1, 3), np.float32))
    g.add_op(Op(op_type, ["x", "k"], ["y"], {"fused_activation_function": "NONE"}))
    g.inputs, g.outputs = ["x"], ["y"]
    return g


def if_graph() -> Graph:
    g = Graph(name="main")
    g.add_tensor(Tensor("condition", (1,), np.bool_))
    g.add_tensor(Tensor("x", (-1, 3), np.float32))
    g.add_tensor(Tensor("y", (-1, 3), np.float32))
    g.add_op(Op("IF", ["condition", "x"], ["y"],
                {"then_subgraph_index": 1, "else_subgraph_index": 2}))
    g.inputs, g.outputs = ["condition", "x"], ["y"]
    g.subgraphs = [branch("plus_one", "ADD", 1.0), branch("times_two", "MUL", 2.0)]
    return g


@pytest.mark.parametrize("condition", [True, False])
@pytest.mark.parametrize("batch", [1, 4])
def test_if_runs_the_branch_its_condition_selects(condition, batch):
    x = np.random.default_rng(0).normal(size=(batch, 3)).astype(np.float32)
    [y] = assert_matches_litert(if_graph(), [np.array([condition]), x])
    np.testing.assert_allclose(y, x + 1 if condition else x * 2, rtol=1e-6)


def test_an_if_graph_validates_through_its_branches():
    validate(if_graph())
    graph = if_graph()
    graph.ops[0].attrs["else_subgraph_index"] = 5
    with pytest.raises(Exception, match="runs subgraph"):
        validate(graph)
