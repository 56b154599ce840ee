"""UNIDIRECTIONAL_SEQUENCE_LSTM's inputs by slot (tensorflow/lite/kernels/lstm_shared.h), shared by
its float and integer kernels and the quantizer. Each group holds the four gates in GATES order
(the peepholes three: no cell gate's)."""

INPUT, INPUT_WEIGHTS, RECURRENT_WEIGHTS, PEEPHOLES = 0, 1, 5, 9
GATE_BIASES, PROJECTION_WEIGHTS, PROJECTION_BIAS = 12, 16, 17
OUTPUT_STATE, CELL_STATE, LAYER_NORM_WEIGHTS = 18, 19, 20
LSTM_INPUTS = 24
GATES = ("input", "forget", "cell", "output")
