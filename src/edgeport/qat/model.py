"""`prepare` and `QATModel`: Keras-like fine-tuning of a fake-quantized graph on the jax
backend, and its conversion to the int8 .tflite whose integer arithmetic it simulated.

Training updates the float weights of the weighted ops (Adam, optimizer.py) through the
straight-through estimator. The activation ranges follow an exponential moving average of
each batch's min and max, or, with ``learn_scales``, are trained parameters (training.py).
``fit(x, y=None)`` distils: the student matches the float model's own outputs on ``x`` (KL
divergence for a softmax output, mean squared error otherwise; losses.py), so no labels are
needed. `convert` writes the trained weights into the float graph and runs the post-training
int8 rewrite with the learned ranges (export.py): the exported model is the one that was
trained. This class holds the model's state and ties those modules together; data.py checks
every array it is given.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np

from ..errors import EdgeportError, QuantizationError
from ..graph import Graph
from ..quantize.plan import Int8Options
from . import data, export, inference, losses, training
from .devices import placed
from ..quantize.plan import QuantPlan
from .prepare import forward_function, load_float_graph, qat_plan, trainable_weights

AGREEMENT_TARGET = 0.995


class QATModel:
    """A trainable fake-quantized copy of a float model (build it with `edgeport.qat.prepare`).

    ``history`` holds one value per epoch of every metric `fit` reported."""

    def __init__(self, graph: Graph, plan: QuantPlan, options: Int8Options,
                 learn_scales: bool = False, ema_constant: float = 0.01, seed: int = 0):
        from ..runtime.backends.jax_runtime import jax_module

        self.jax = jax_module()
        self.graph, self.plan, self.options = graph, plan, options
        self.learn_scales, self.ema_constant = learn_scales, float(ema_constant)
        self.rng = np.random.default_rng(seed)
        self.float_params = {n: np.asarray(graph.tensors[n].data, np.float32)
                             for n in trainable_weights(plan)}
        self.params = {n: self.jax.numpy.asarray(v) for n, v in self.float_params.items()}
        self.ranges = None  # {key: jnp [lo, hi]}: set by calibrate or the first batch
        self.history: dict[str, list[float]] = {}
        self.agreement: float | None = None
        self._forward = forward_function(plan)
        self._jit_forward = self.jax.jit(self._forward, static_argnames=("quantize", "keep"))
        self._steps = {}  # loss (or id of a loss callable) -> its jitted train step
        self._probabilities = losses.softmax_output(graph, graph.outputs[0])

    # -- ranges ---------------------------------------------------------------------------
    def calibrate(self, representative_dataset) -> None:
        """Initialise every learned range from a min/max calibration (PTQ's)."""
        from ..quantize import calibrate

        dataset = data.calibration_dataset(self.graph, representative_dataset)
        ranges = calibrate(self.graph, dataset, progress=False)
        self._set_ranges({k: ranges[k] for k in self.plan.learned})

    def _set_ranges(self, ranges: dict) -> None:
        jnp = self.jax.numpy
        self.ranges = {k: jnp.asarray(np.array(v, np.float32)) for k, v in ranges.items()}

    def _init_ranges(self, inputs: list[np.ndarray]) -> None:
        """Ranges observed on ``inputs`` by the float model, when none are set yet."""
        if self.ranges is None:
            _, _, observed = self._jit_forward(self.params, {}, inputs, quantize=False)
            self._set_ranges({k: np.asarray(v) for k, v in observed.items()})

    def learned_ranges(self) -> dict[str, tuple[float, float]]:
        """{tensor: (min, max)} as trained."""
        if self.ranges is None:
            raise QuantizationError("the ranges are not set: pass a representative_dataset "
                                    "to prepare, or fit the model first")
        return {k: tuple(float(x) for x in np.asarray(v)) for k, v in self.ranges.items()}

    # -- training -------------------------------------------------------------------------
    @placed
    def fit(self, x, y=None, epochs: int = 1, batch_size: int = 32,
            learning_rate: float = 1e-4, loss="auto", validation_data=None,
            patience: int | None = None, shuffle: bool = True, verbose: int = 1) -> dict:
        """Train; returns ``history`` ({metric: one value per epoch}). ``y=None``
        distils from the float model. ``validation_data``: (x_val, y_val) or x_val (then
        compared with the float model). ``patience``: stop after that many epochs without a
        better validation loss (training loss without validation data), keeping the best
        weights. A NaN loss raises QuantizationError and restores the model as it was."""
        inputs = data.model_inputs(self.graph, x)
        if epochs < 1 or batch_size < 1:
            raise QuantizationError("epochs and batch_size must be at least 1")
        distill = y is None
        target = (self._teacher(inputs, batch_size) if distill
                  else data.targets(y, inputs[0].shape[0]))
        loss = self._default_loss(distill, target) if loss == "auto" else loss
        compute = losses.loss_function(self.jax, loss, self._probabilities)
        validate = training.validator(self.evaluate, data.validation_data(
            self.graph, validation_data), batch_size, loss, distill)
        self._init_ranges(data.range_samples(inputs, batch_size))
        fit = training.Fit(self.jax, self._step(loss, compute), inputs, target, epochs,
                           batch_size, learning_rate, shuffle, patience, verbose)
        snapshot = (self.params, self.ranges, copy.deepcopy(self.history))
        state = training.initial_state(self.jax, self.params, self.ranges, self.learn_scales)
        try:
            best = training.train(fit, state, self.rng, self._adopt, validate, self.history)
            if best is not None:
                self.params, self.ranges = best
        except BaseException:
            self.params, self.ranges, self.history = snapshot
            raise
        return self.history

    def _step(self, loss, compute):
        """The jitted train step for ``loss``, compiled once per loss and model."""
        key = loss if not callable(loss) else id(loss)
        if key not in self._steps:
            self._steps[key] = training.train_step(self.jax, self._forward, compute,
                                                   self.learn_scales, self.ema_constant)
        return self._steps[key]

    def _adopt(self, state) -> tuple[dict, dict]:
        """Make the train step's ``state`` the model's; its (params, ranges)."""
        trainable, ranges = state[0], state[1]
        self.params = trainable["weights"]
        self.ranges = trainable["ranges"] if self.learn_scales else ranges
        return self.params, self.ranges

    def _default_loss(self, distill: bool, target: np.ndarray) -> str:
        return losses.default_loss(distill, target, self._probabilities)

    def _teacher(self, inputs: list[np.ndarray], batch_size: int) -> np.ndarray:
        """The float model's first output on ``inputs``."""
        return self._run(inputs, batch_size, quantize=False)[0]

    # -- inference ------------------------------------------------------------------------
    def _run(self, inputs: list[np.ndarray], batch_size: int, quantize: bool) -> list:
        """Every output on ``inputs``, fake-quantized (or float), batch by batch."""
        params = self.params if quantize else {k: self.jax.numpy.asarray(v)
                                               for k, v in self.float_params.items()}
        if quantize:
            self._init_ranges(data.range_samples(inputs, batch_size))
        return inference.forward_outputs(self.jax, self._jit_forward, params,
                                         self.ranges if quantize else {}, inputs, batch_size,
                                         quantize)

    def tensors(self, x, quantized: bool = True, feed: dict | None = None
                ) -> dict[str, np.ndarray]:
        """Every tensor of the graph on ``x`` (one batch), as the fake-quant model computes it:
        what the int8 model's tensors hold, dequantized, up to rounding. ``feed`` {tensor:
        value} makes the ops read those values instead (to check one op at a time)."""
        inputs = data.model_inputs(self.graph, x)
        if quantized:
            self._init_ranges(inputs)
        params = self.params if quantized else self.float_params
        return inference.forward_tensors(self.jax, self._jit_forward, params,
                                         self.ranges if quantized else {}, inputs, quantized,
                                         feed)

    @placed
    def predict(self, x, batch_size: int = 256, quantized: bool = True):
        """The fake-quantized model's outputs (``quantized=False``: the original float
        model's); one array, or a list for several outputs."""
        outputs = self._run(data.model_inputs(self.graph, x), batch_size, quantize=quantized)
        return outputs[0] if len(outputs) == 1 else outputs

    @placed
    def evaluate(self, x, y=None, batch_size: int = 256, loss="auto",
                 quantized: bool = True) -> dict[str, float]:
        """{"loss", and "accuracy" for class labels (or top-1 agreement with the float
        model when ``y`` is None)}."""
        inputs = data.model_inputs(self.graph, x)
        prediction = self._run(inputs, batch_size, quantize=quantized)[0]
        distill = y is None
        target = (self._teacher(inputs, batch_size) if distill
                  else data.targets(y, inputs[0].shape[0]))
        loss = self._default_loss(distill, target) if loss == "auto" else loss
        compute = losses.loss_function(self.jax, loss, self._probabilities)
        return losses.evaluation(self.jax, compute, prediction, target, self._probabilities,
                                 distill)

    # -- export ---------------------------------------------------------------------------
    def trained_float_graph(self) -> Graph:
        """A copy of the float graph holding the trained weights."""
        return export.trained_float_graph(self.graph, self.params)

    def convert(self, inference_input_type=np.float32, inference_output_type=np.float32,
                check_data=None) -> bytes:
        """The int8 .tflite bytes: the trained weights, quantized with the learned ranges by
        `quantize_int8` (per channel as prepared). With ``check_data`` (inputs), the top-1
        agreement between the integer model (edgeport's interpreter) and the fake-quant model
        is measured into ``self.agreement``, with a warning under 99.5%."""
        graph = self.trained_float_graph()
        ranges = self.plan.ranges_for_conversion(self.learned_ranges())
        model = export.int8_tflite(graph, ranges, self.options, inference_input_type,
                                   inference_output_type)
        if check_data is not None:
            self.agreement = self.top1_agreement(model, check_data)
            if self.agreement < AGREEMENT_TARGET:
                warnings.warn(f"the int8 model agrees with the fake-quant model on only "
                              f"{self.agreement:.2%} of the check samples", stacklevel=2)
        return model

    def top1_agreement(self, model: bytes, x) -> float:
        """The fraction of samples whose arg-max the int8 ``model`` and this fake-quant model
        agree on (first output)."""
        inputs = data.model_inputs(self.graph, x)
        ours = self._run(inputs, 256, quantize=True)[0]
        return export.top1_agreement(ours, export.tflite_first_output(model, inputs))


def prepare(model, representative_dataset=None, per_channel: bool = True,
            per_channel_dense: bool = True, learn_scales: bool = False,
            ema_constant: float = 0.01, seed: int = 0):
    """A `QATModel`: a trainable fake-quantized copy of ``model`` (a .keras/.h5/.tflite
    path, a live Keras model, float .tflite bytes or a `Graph`; see the module doc).

    ``representative_dataset`` (anything `quantize.calibrate` takes, or an array of
    samples) initialises the ranges from a PTQ calibration; without it they start from the
    first training batch. ``learn_scales`` trains the ranges by gradient (LSQ-style) instead
    of the moving average of batch min/max (``ema_constant`` per batch). ``per_channel`` /
    ``per_channel_dense`` as `quantize.Int8Options` (False/False for TFLite Micro's
    per-tensor weights)."""
    try:
        graph = load_float_graph(model)
    except QuantizationError:
        raise
    except EdgeportError as exc:
        raise QuantizationError(f"cannot prepare the model for quantization-aware training: "
                                f"{exc}") from None
    options = Int8Options(per_channel=per_channel,
                          per_channel_dense=per_channel and per_channel_dense)
    qat = QATModel(graph, qat_plan(graph, options), options, learn_scales=learn_scales,
                   ema_constant=ema_constant, seed=seed)
    if representative_dataset is not None:
        qat.calibrate(representative_dataset)
    return qat
