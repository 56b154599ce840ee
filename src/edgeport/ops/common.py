"""Small helpers shared by several op families: padding arithmetic and broadcasting rules."""

from __future__ import annotations


def same_padding(in_size: int, filter_size: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """(before, after) padding of one spatial dim for padding SAME, as TFLite computes it
    (ComputePaddingHeightWidth): output = ceil(in / stride), the odd pixel goes after."""
    effective = (filter_size - 1) * dilation + 1
    out_size = (in_size + stride - 1) // stride
    total = max((out_size - 1) * stride + effective - in_size, 0)
    return total // 2, total - total // 2


def conv_output_size(in_size: int, filter_size: int, stride: int, dilation: int,
                     padding: str) -> int:
    """Output size of one spatial dim of a convolution or pool (TFLite ComputeOutSize)."""
    effective = (filter_size - 1) * dilation + 1
    if padding == "SAME":
        return (in_size + stride - 1) // stride
    return (in_size - effective + stride) // stride
