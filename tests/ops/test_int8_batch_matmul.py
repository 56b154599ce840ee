"""Integer BATCH_MATMUL, bit-exact with LiteRT's reference kernel over shapes, adjoints and
saturation."""

import numpy as np
import pytest

from tests.quantmodels import QConst, QInput, assert_bit_exact, qp, quant_graph

F32 = np.float32


# -- BATCH_MATMUL ---------------------------------------------------------------------------
@pytest.mark.parametrize("shapes,adj", [
    (((3, 4), (4, 5)), (False, False)),
    (((2, 3, 4), (2, 4, 5)), (False, False)),
    (((2, 4, 3), (2, 4, 5)), (True, False)),
    (((2, 3, 4), (2, 5, 4)), (False, True)),
    (((2, 1, 3, 6), (1, 4, 6, 2)), (False, False)),   # broadcast batches
    (((2, 3, 16), (16, 7)), (False, False)),
])
@pytest.mark.parametrize("seed", [0, 1])
def test_batch_matmul_int8(shapes, adj, seed):
    rng = np.random.default_rng(seed)
    s_x, s_y = rng.uniform(0.005, 0.1, 2).astype(F32)
    z_x, z_y, z_out = (int(v) for v in rng.integers(-128, 128, 3))
    s_out = F32(s_x * s_y * shapes[0][-1] * 60)
    graph = quant_graph("BATCH_MATMUL", [QInput(shapes[0], np.int8, qp(s_x, z_x)),
                                         QInput(shapes[1], np.int8, qp(s_y, z_y))],
                        {"adj_x": adj[0], "adj_y": adj[1], "asymmetric_quantize_inputs": False},
                        [(np.int8, qp(s_out, z_out))])
    assert_bit_exact(graph, seed=seed)


def test_batch_matmul_int8_constant_rhs_saturates():
    rng = np.random.default_rng(3)
    y = rng.integers(-128, 128, (8, 6)).astype(np.int8)
    graph = quant_graph("BATCH_MATMUL", [QInput((2, 4, 8), np.int8, qp(F32(0.1), -3)),
                                         QConst(y, qp(F32(0.05), 0))],
                        {"adj_x": False, "adj_y": False, "asymmetric_quantize_inputs": False},
                        [(np.int8, qp(F32(0.02), 5))])
    assert_bit_exact(graph)
