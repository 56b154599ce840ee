"""Post-training quantization: streamed calibration (observers.py, calibrate.py) and the graph
rewrites to weights-only int8 and float16 (weights_only.py) and full-integer int8 (ptq.py,
materializing the quantization plan of plan.py with the parameters of rules.py).

`edgeport.lite.TFLiteConverter` drives these from its tf.lite-style attributes; they can also
be used on a `Graph` directly::

    graph = prepare_float(optimize(load_keras("model.keras")))
    ranges = calibrate(graph, dataset, method="percentile")
    quantize_int8(graph, ranges)
"""

from .calibrate import activation_tensors, calibrate
from .observers import METHODS, make_observer
from .plan import Int8Options
from .ptq import prepare_float, quantize_int8
from .weights_only import quantize_float16, quantize_weights

__all__ = ["METHODS", "Int8Options", "activation_tensors", "calibrate", "make_observer",
           "prepare_float", "quantize_float16", "quantize_int8", "quantize_weights"]
