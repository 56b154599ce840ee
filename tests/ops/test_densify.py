import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from edgeport.errors import ModelFormatError
from edgeport.frontends.tflite import read_tflite
from edgeport.graph import DimensionMetadata, Graph, Op, QuantParams, Sparsity, Tensor
from edgeport.ops import get_op
from edgeport.runtime.kernels import bind_kernels
from tests.corpus import mediapipe_model
from tests.opmodels import assert_matches_litert

SPARSE_MODELS = ["face_detection_full_range_sparse", "pose_detection"]


def encode(dense, traversal_order, formats, block_map=(), block_size=(), index_dtype=np.int32):
    """A test-side TACO encoder, written independently of the kernel: walk the expanded tensor
    level by level, keeping every index of a DENSE level and, of a SPARSE_CSR level, the
    indices whose subtree holds a nonzero (as TFLite's DenseToSparse does)."""
    rank = dense.ndim
    # Split each blocked dim d into (d / b, b) and move the block parts after the original dims.
    split_shape, block_axes, axis = [], [], 0
    for d, size in enumerate(dense.shape):
        if d in block_map:
            b = block_size[list(block_map).index(d)]
            split_shape += [size // b, b]
            block_axes.append(axis + 1)
            axis += 2
        else:
            split_shape.append(size)
            axis += 1
    outer = [a for a in range(len(split_shape)) if a not in block_axes]
    expanded = dense.reshape(split_shape).transpose(outer + block_axes)
    levels = expanded.transpose(traversal_order)
    nodes, dims = [()], []
    for level, fmt in enumerate(formats):
        size = levels.shape[level]
        if fmt == "DENSE":
            nodes = [node + (j,) for node in nodes for j in range(size)]
            dims.append(DimensionMetadata("DENSE", size))
            continue
        segments, indices, kept = [0], [], []
        for node in nodes:
            for j in range(size):
                if np.any(levels[node + (j,)] != 0):
                    indices.append(j)
                    kept.append(node + (j,))
            segments.append(len(indices))
        nodes = kept
        dims.append(DimensionMetadata("SPARSE_CSR", 0, np.array(segments, index_dtype),
                                      np.array(indices, index_dtype)))
    values = np.array([levels[node] for node in nodes], dense.dtype).reshape(-1)
    assert rank + len(block_map) == len(traversal_order)
    return values, Sparsity(list(traversal_order), list(block_map), dims)


def sparse_matrix(shape, density=0.3, seed=0, dtype=np.float32, block=None):
    """A random dense array with zeros; with ``block`` = (axis, size), zero whole blocks."""
    rng = np.random.default_rng(seed)
    dense = rng.standard_normal(shape).astype(np.float32)
    mask_shape = list(shape)
    if block is not None:
        mask_shape[block[0]] //= block[1]
    mask = rng.uniform(size=mask_shape) < density
    if block is not None:
        mask = np.repeat(mask, block[1], axis=block[0])
    dense = dense * mask
    if dtype == np.int8:
        return np.clip(np.round(dense * 40), -127, 127).astype(np.int8)
    return dense.astype(dtype)


def densify_add_graph(dense, sparsity, values, quant=None):
    """sparse constant -> DENSIFY (-> DEQUANTIZE for float16/int8) -> ADD(runtime input)."""
    graph = Graph(name="main")
    shape = dense.shape
    graph.add_tensor(Tensor("w_sparse", shape, dense.dtype, values, quant=quant,
                            sparsity=sparsity))
    graph.add_tensor(Tensor("w", shape, dense.dtype, quant=quant))
    graph.add_op(Op("DENSIFY", ["w_sparse"], ["w"]))
    weights = "w"
    if dense.dtype != np.float32:
        graph.add_tensor(Tensor("w_float", shape, np.float32))
        graph.add_op(Op("DEQUANTIZE", ["w"], ["w_float"]))
        weights = "w_float"
    graph.add_tensor(Tensor("x", shape, np.float32))
    graph.add_tensor(Tensor("y", shape, np.float32))
    graph.add_op(Op("ADD", [weights, "x"], ["y"], {"fused_activation_function": "NONE"}))
    graph.inputs, graph.outputs = ["x"], ["y"]
    return graph


def our_densify(graph: Graph, op: Op) -> np.ndarray:
    return get_op("DENSIFY").prepare(op, graph)([None])[0]


# (shape, traversal order, formats, block_map, block_size)
LAYOUTS = {
    "csr": ((6, 9), [0, 1], ["DENSE", "SPARSE_CSR"], (), ()),
    "csc": ((6, 9), [1, 0], ["DENSE", "SPARSE_CSR"], (), ()),
    "dcsr": ((7, 5), [0, 1], ["SPARSE_CSR", "SPARSE_CSR"], (), ()),
    "block_4x1": ((8, 6), [0, 1, 2], ["DENSE", "SPARSE_CSR", "DENSE"], (0,), (4,)),
    "block_1x4": ((5, 8), [0, 1, 2], ["DENSE", "SPARSE_CSR", "DENSE"], (1,), (4,)),
    "block_2x2": ((6, 4), [0, 1, 2, 3], ["DENSE", "SPARSE_CSR", "DENSE", "DENSE"], (0, 1),
                  (2, 2)),
    "conv_ohwi": ((8, 1, 1, 12), [0, 1, 2, 3], ["DENSE", "DENSE", "DENSE", "SPARSE_CSR"], (),
                  ()),
    "conv_3d_csr_middle": ((3, 4, 5), [0, 1, 2], ["DENSE", "SPARSE_CSR", "DENSE"], (), ()),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("index_dtype", [np.int32, np.uint8])
def test_densify_float32_matches_litert(layout, index_dtype):
    shape, order, formats, block_map, block_size = LAYOUTS[layout]
    block = (block_map[0], block_size[0]) if block_map else None
    dense = sparse_matrix(shape, block=block)
    values, sparsity = encode(dense, order, formats, block_map, block_size, index_dtype)
    assert values.size < dense.size  # the encoding is really sparse
    graph = densify_add_graph(dense, sparsity, values)
    np.testing.assert_array_equal(our_densify(graph, graph.ops[0]), dense)
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    assert_matches_litert(graph, [x], rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [np.float16, np.int8])
@pytest.mark.parametrize("layout", ["csr", "block_4x1", "conv_ohwi"])
def test_densify_float16_and_int8_matches_litert(layout, dtype):
    shape, order, formats, block_map, block_size = LAYOUTS[layout]
    block = (block_map[0], block_size[0]) if block_map else None
    dense = sparse_matrix(shape, block=block, dtype=dtype, seed=3)
    values, sparsity = encode(dense, order, formats, block_map, block_size)
    quant = QuantParams([0.02], [0]) if dtype == np.int8 else None
    graph = densify_add_graph(dense, sparsity, values, quant)
    assert our_densify(graph, graph.ops[0]).dtype == dtype
    np.testing.assert_array_equal(our_densify(graph, graph.ops[0]), dense)
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    assert_matches_litert(graph, [x], rtol=0, atol=0)


def test_densify_all_zero_tensor():
    dense = np.zeros((4, 6), np.float32)
    values, sparsity = encode(dense, [0, 1], ["DENSE", "SPARSE_CSR"])
    graph = densify_add_graph(dense, sparsity, np.zeros(1, np.float32)[:0])
    np.testing.assert_array_equal(our_densify(graph, graph.ops[0]), dense)


def test_densify_rejects_metadata_addressing_missing_values():
    dense = sparse_matrix((4, 6))
    values, sparsity = encode(dense, [0, 1], ["DENSE", "SPARSE_CSR"])
    graph = densify_add_graph(dense, sparsity, values[:-1])
    with pytest.raises(ModelFormatError, match="DENSIFY.*addresses"):
        bind_kernels(graph)


def test_densify_rejects_dense_input():
    graph = densify_add_graph(np.ones((2, 2), np.float32), None, np.ones((2, 2), np.float32))
    with pytest.raises(ModelFormatError, match="not a constant sparse tensor"):
        bind_kernels(graph)


@pytest.mark.parametrize("name", SPARSE_MODELS)
def test_densify_matches_litert_on_mediapipe_models(name):
    path = mediapipe_model(name)
    graph = read_tflite(path)
    densify_ops = [op for op in graph.ops if op.type == "DENSIFY"]
    assert densify_ops, "the model should hold sparse weights"
    litert = Interpreter(model_path=str(path), num_threads=1,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                         experimental_preserve_all_tensors=True)
    litert.allocate_tensors()
    detail = litert.get_input_details()[0]
    litert.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
    litert.invoke()
    index = {name: i for i, name in enumerate(graph.tensors)}  # our order is the file's
    for op in densify_ops:
        want = litert.get_tensor(index[op.outputs[0]])
        got = our_densify(graph, op)
        assert got.dtype == want.dtype and got.shape == want.shape, op.label
        np.testing.assert_array_equal(got, want, err_msg=op.label)
