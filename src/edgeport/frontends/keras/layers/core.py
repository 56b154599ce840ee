"""Core layers: Dense, the layers that are identities at inference, and shape changes."""

from __future__ import annotations

import numpy as np

from . import keras_layer
from .activations import apply_activation


@keras_layer("InputLayer")
def input_layer(b, cfg, inputs):
    return inputs[0]  # graph inputs are created by the topology walk


@keras_layer("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
             "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization",
             "Identity")
def identity(b, cfg, inputs):
    """Training-time noise and regularizers do nothing at inference: no op at all."""
    return inputs[0]


@keras_layer("Dense")
def dense(b, cfg, inputs):
    """FULLY_CONNECTED with weights [units, in] (Keras stores [in, units]); inputs of rank > 2
    keep their leading dims (keep_num_dims), as Dense applies to the last axis."""
    x = inputs[0]
    units, depth = cfg.int("units", minimum=1), b.shape(x)[-1]
    use_bias = cfg.bool("use_bias", True)
    weights = b.weights((depth, units), *([(units,)] if use_bias else []))
    bias = weights[1] if use_bias else np.zeros(units, np.float32)
    out = b.op("FULLY_CONNECTED", [x, b.const(weights[0].T, suffix="kernel"),
                                   b.const(bias, suffix="bias")],
               {"keep_num_dims": b.rank(x) > 2})
    return apply_activation(b, out, cfg.get("activation"))


@keras_layer("Flatten")
def flatten(b, cfg, inputs):
    x = inputs[0]
    return b.reshape(x, [int(np.prod(b.shape(x)[1:]))])


@keras_layer("Reshape")
def reshape(b, cfg, inputs):
    return b.reshape(inputs[0], cfg.shape("target_shape", free=-1))


@keras_layer("Permute")
def permute(b, cfg, inputs):
    rank = b.rank(inputs[0])
    dims = list(cfg.ints("dims", rank - 1))
    if sorted(dims) != list(range(1, rank)):
        raise cfg.error("dims", f"a permutation of the axes 1 to {rank - 1}")
    return b.op("TRANSPOSE", [inputs[0], b.const([0, *dims], np.int32, "perm")])


@keras_layer("RepeatVector")
def repeat_vector(b, cfg, inputs):
    depth, n = b.shape(inputs[0], rank=2)[-1], cfg.int("n", minimum=1)
    b.check_size((1, n, depth), "its output")
    x = b.reshape(inputs[0], [1, depth])
    return b.op("CONCATENATION", [x] * n, {"axis": 1})


@keras_layer("Rescaling")
def rescaling(b, cfg, inputs):
    """x * scale + offset (scalars or per-channel lists)."""
    x = inputs[0]
    scale, offset = cfg.numbers("scale", 1.0), cfg.numbers("offset", 0.0)
    if np.any(scale != 1.0):
        x = b.op("MUL", [x, b.const(scale, suffix="scale")])
    if np.any(offset != 0.0):
        x = b.op("ADD", [x, b.const(offset, suffix="offset")])
    return x


@keras_layer("Embedding")
def embedding(b, cfg, inputs):
    """GATHER of rows of the [input_dim, output_dim] table; float indices are cast to int32
    as Keras does. ``mask_zero=True`` is refused: its mask changes what later layers compute
    (pooling, recurrent layers), and masks are not converted yet."""
    if cfg.bool("mask_zero", False):
        raise b.unsupported("mask_zero=True: the mask it makes changes what later layers "
                            "compute, and masks are not converted yet")
    ids = inputs[0]
    (table,) = b.weights((cfg.int("input_dim", minimum=1), cfg.int("output_dim", minimum=1)))
    if not np.issubdtype(b.specs[ids].dtype, np.integer):
        ids = b.op("CAST", [ids], {"in_data_type": "FLOAT32", "out_data_type": "INT32"},
                   dtype=np.int32)
    return b.op("GATHER", [b.const(table, suffix="embeddings"), ids], {"axis": 0})
