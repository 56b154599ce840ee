"""DEPTH_TO_SPACE and SPACE_TO_DEPTH: moving block_size x block_size spatial blocks of an NHWC
tensor into channels and back.

TFLite orders the channels of a block "DCR" (depth-column-row, as TensorFlow's NHWC default):
channel ``(i * block_size + j) * C + c`` of the deep tensor is pixel (i, j) of the block,
channel c (tensorflow/lite/kernels/internal/reference/reference_ops.h). The two ops are each
other's inverse. Pure data movement, so any dtype works.
"""

from __future__ import annotations

import numpy as np

from ..errors import GraphError
from .options import Int, Options
from .quant_rules import SameAsInput
from .registry import OpDef, register_op


class BlockOp(OpDef):
    """Pure data movement, on the input's grid when quantized; version 2 for int8 tensors,
    else 1 (op_version.cc)."""

    quant = SameAsInput()

    def version(self, op, graph):
        return 2 if graph.tensors[op.inputs[0]].dtype == np.int8 else 1


def check_divisible(op_name: str, what: str, size: int, divisor: int) -> None:
    if divisor < 1 or size % divisor:
        raise GraphError(f"{op_name}: {what} {size} is not a multiple of {divisor}")


@register_op("DEPTH_TO_SPACE")
class DepthToSpace(BlockOp):
    options = Options("DepthToSpaceOptions", block_size=Int)

    def run_float(self, attrs, x):
        block = attrs["block_size"]
        n, h, w, c = x.shape
        check_divisible(self.name, "depth", c, block * block)
        blocks = x.reshape(n, h, w, block, block, c // (block * block))
        # (n, h, row i, w, column j, c): output pixel (h * block + i, w * block + j).
        return blocks.transpose(0, 1, 3, 2, 4, 5).reshape(n, h * block, w * block, -1)


@register_op("SPACE_TO_DEPTH")
class SpaceToDepth(BlockOp):
    options = Options("SpaceToDepthOptions", block_size=Int)

    def run_float(self, attrs, x):
        block = attrs["block_size"]
        n, h, w, c = x.shape
        check_divisible(self.name, "height", h, block)
        check_divisible(self.name, "width", w, block)
        blocks = x.reshape(n, h // block, block, w // block, block, c)
        # (n, h, w, row i, column j, c): channel (i * block + j) * c_in + c.
        return blocks.transpose(0, 1, 3, 2, 4, 5).reshape(n, h // block, w // block, -1)
