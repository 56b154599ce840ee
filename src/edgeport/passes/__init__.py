"""Graph rewrites. Each pass is a function ``Graph -> Graph`` (editing the graph in place and
returning it) whose docstring says what it guarantees; `optimize` runs the default pipeline,
the rewrites the official TFLite converter also does."""

from __future__ import annotations

from ..graph import Graph
from .cleanup import remove_dead_code, remove_identities
from .constant_folding import fold_constants
from .cse import eliminate_common_subexpressions
from .fusion import fold_batch_norms, fold_padding, fuse_activations

DEFAULT_PASSES = (remove_identities, fold_constants, eliminate_common_subexpressions,
                  fold_batch_norms, fuse_activations, fold_padding, remove_dead_code)


def optimize(graph: Graph, passes=DEFAULT_PASSES) -> Graph:
    """Run ``passes`` in order on the main graph and its subgraphs; returns ``graph``."""
    for g in graph.all_graphs():
        for run in passes:
            run(g)
    return graph


__all__ = ["DEFAULT_PASSES", "eliminate_common_subexpressions", "fold_batch_norms",
           "fold_constants", "fold_padding", "fuse_activations", "optimize", "remove_dead_code",
           "remove_identities"]
