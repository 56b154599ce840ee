"""edgeport.shapes.validate (Graph.validate and the shape checks) catches malformed graphs with a GraphError naming the op and the tensor;
topological_order() repairs op order."""

from __future__ import annotations

import numpy as np
import pytest

from edgeport.errors import GraphError
from edgeport.graph import Graph, Op, Tensor
from edgeport.shapes import validate
from tests.corpus import add_chain_graph, custom_op_graph, feature_graph


def chain(n_ops: int = 3) -> Graph:
    """x -> ADD c0 -> t0 -> ADD c1 -> t1 -> ..., all float32 [1, 8, 8, 3], op origins add_t<i>."""
    return add_chain_graph(n_ops)


@pytest.mark.parametrize("build", [chain, feature_graph, custom_op_graph])
def test_valid_graphs_pass(build):
    graph = build()
    assert validate(graph) is graph


def test_dangling_input():
    graph = chain()
    graph.ops[1].inputs[1] = "nowhere"
    with pytest.raises(GraphError, match=r"ADD \(add_t1\).*'nowhere'.*not defined"):
        validate(graph)


def test_dangling_output_and_graph_output():
    graph = chain()
    graph.outputs = ["ghost"]
    with pytest.raises(GraphError, match="'ghost'"):
        validate(graph)


def test_tensor_produced_twice():
    graph = chain()
    graph.ops[2].outputs = ["t0"]
    with pytest.raises(GraphError, match=r"'t0'.*produced by both ADD \(add_t0\) and ADD "
                                         r"\(add_t2\)"):
        validate(graph)


def test_graph_input_overwritten():
    graph = chain()
    graph.ops[0].outputs = ["x"]
    with pytest.raises(GraphError, match=r"'x'.*ADD \(add_t0\)"):
        validate(graph)


def test_cycle():
    graph = chain()
    graph.ops[0].inputs[0] = "t2"  # t0 <- t2 <- t1 <- t0
    with pytest.raises(GraphError, match=r"cycle through op ADD \(add_t\d\)"):
        validate(graph)
    with pytest.raises(GraphError, match="cycle"):
        graph.topological_order()


def test_self_loop():
    graph = chain()
    graph.ops[1].inputs[0] = "t1"
    with pytest.raises(GraphError, match=r"cycle through op ADD \(add_t1\)"):
        validate(graph)


def test_shape_mismatch():
    graph = chain()
    graph.tensors["t1"].shape = (1, 8, 8, 4)
    with pytest.raises(GraphError, match=r"ADD \(add_t1\) produces shape \[1, 8, 8, 3\] but "
                                         r"tensor 't1' is declared \[1, 8, 8, 4\]"):
        validate(graph)


def test_rank_mismatch():
    graph = chain()
    graph.tensors["t0"].shape = (8, 8, 3)
    with pytest.raises(GraphError, match=r"ADD \(add_t0\).*'t0'"):
        validate(graph)


def test_dynamic_dim_matches_any_size():
    graph = chain()
    graph.tensors["t1"].shape = (-1, 8, 8, 3)
    validate(graph)


def test_dtype_mismatch_of_a_folded_op():
    graph = chain()
    graph.add_tensor(Tensor("folded", (3,), np.int32))
    graph.add_op(Op("ADD", ["c0", "c1"], ["folded"], origin="fold"))
    with pytest.raises(GraphError, match=r"ADD \(fold\) produces dtype float32 but tensor "
                                         r"'folded' is declared int32"):
        validate(graph)


def test_dtype_mismatch():
    graph = chain()
    graph.tensors["t2"].dtype = np.dtype(np.int32)
    with pytest.raises(GraphError, match=r"ADD \(add_t2\) produces dtype float32 but tensor "
                                         r"'t2' is declared int32"):
        validate(graph)


def test_incompatible_input_shapes_name_the_op():
    graph = chain()
    graph.tensors["c1"].data = np.ones(5, np.float32)
    graph.tensors["c1"].shape = (5,)
    with pytest.raises(GraphError, match=r"ADD \(add_t1\)"):
        validate(graph)


def test_unknown_op_type():
    graph = chain()
    graph.ops[1].type = "NOT_AN_OP"
    with pytest.raises(GraphError, match="NOT_AN_OP"):
        validate(graph)


def test_errors_in_subgraphs_are_found():
    graph = feature_graph()
    graph.subgraphs[0].ops[0].inputs[0] = "missing"
    with pytest.raises(GraphError, match=r"graph 'double'.*'missing'"):
        validate(graph)


def test_topological_order_sorts_out_of_order_ops():
    graph = chain(5)
    expected = list(graph.ops)
    graph.ops = [expected[i] for i in (3, 0, 4, 2, 1)]
    order = graph.topological_order()
    assert order == expected
    graph.ops = order
    validate(graph)


def test_topological_order_keeps_a_valid_order():
    graph = feature_graph()
    assert graph.topological_order() == graph.ops
    # Independent ops keep their relative order, even when reversed.
    graph.ops = graph.ops[::-1]
    assert graph.topological_order() == graph.ops


def test_topological_order_of_a_diamond():
    graph = Graph(name="diamond")
    for name in ("x", "a", "b", "y"):
        graph.add_tensor(Tensor(name, (2,), np.float32))
    graph.inputs, graph.outputs = ["x"], ["y"]
    join = Op("ADD", ["a", "b"], ["y"], origin="join")
    left = Op("ADD", ["x", "x"], ["a"], origin="left")
    right = Op("ADD", ["x", "a"], ["b"], origin="right")
    graph.ops = [join, right, left]
    assert [op.origin for op in graph.topological_order()] == ["left", "right", "join"]
    graph.ops = graph.topological_order()
    validate(graph)


def test_add_tensor_refuses_duplicates():
    graph = chain()
    with pytest.raises(GraphError, match="'x'"):
        graph.add_tensor(Tensor("x", (1,), np.float32))
    assert graph.unique_name("x") == "x_1" and graph.unique_name("fresh") == "fresh"
