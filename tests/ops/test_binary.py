import numpy as np
import pytest

from tests.opmodels import Input, assert_matches_litert, op_graph


@pytest.mark.parametrize("activation", ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"])
@pytest.mark.parametrize("shapes", [((2, 3, 4), (2, 3, 4)), ((2, 3, 4), (4,)), ((1, 3, 1), (2, 1, 5))])
def test_add_matches_litert(shapes, activation):
    graph = op_graph("ADD", [Input(shapes[0]), Input(shapes[1])],
                     {"fused_activation_function": activation})
    assert_matches_litert(graph)
