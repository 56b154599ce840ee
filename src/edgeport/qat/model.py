"""`QATModel`: Keras-like fine-tuning of a fake-quantized graph on the jax backend, and its
conversion to the int8 .tflite whose integer arithmetic it simulated.

Training updates the float weights of the weighted ops (Adam, written out below: no optax)
through the straight-through estimator. The activation ranges follow an exponential moving
average of each batch's min and max, or, with ``learn_scales``, are trained parameters.
``fit(x, y=None)`` distils: the student matches the float model's own outputs on ``x`` (KL
divergence for a softmax output, mean squared error otherwise), so no labels are needed.
`convert` writes the trained weights into the float graph and runs the post-training int8
rewrite with the learned ranges: the exported model is the one that was trained.
"""

from __future__ import annotations

import copy
import math
import time
import warnings

import numpy as np

from ..errors import EdgeportError, QuantizationError
from ..graph import Graph
from ..quantize.ptq import Int8Options
from .prepare import QuantPlan, forward_function

LOSSES = ("sparse_categorical_crossentropy", "categorical_crossentropy", "mse", "kl")
AGREEMENT_TARGET = 0.995
EPSILON = 1e-7


def _placed(method):
    """Run ``method``'s jax work on the device of the enclosing ``edgeport.device`` scope."""
    import functools

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with self._device_scope():
            return method(self, *args, **kwargs)

    return run


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
                             for n in plan.weights}
        self.params = {n: self.jax.numpy.asarray(v) for n, v in self.float_params.items()}
        self.ranges = None  # {key: jnp [lo, hi]}: set by calibrate or the first batch
        self.history: dict[str, list[float]] = {}
        self.agreement: float | None = None
        self._forward = forward_function(plan)
        self._jit_forward = self.jax.jit(self._forward, static_argnames=("quantize", "keep"))
        self._steps = {}
        self._logit_outputs = [self._forward_logit_kind(n) for n in graph.outputs]

    def _device_scope(self):
        """``jax.default_device`` of the ``edgeport.device(...)`` scope in force, as the jax
        backend places ops: a device jax does not have falls back to its default device with a
        warning (soft placement) or raises PlacementError (soft placement off)."""
        from contextlib import nullcontext

        from ..runtime.backends.jax_runtime import jax_devices
        from ..runtime.devices import STATE
        from ..runtime.placement import PlacementError, current_device

        name = current_device()
        if name is None:
            return nullcontext()
        devices = jax_devices()
        if name in devices:
            return self.jax.default_device(devices[name])
        message = (f"quantization-aware training: no device {name} (jax has "
                   f"{', '.join(devices)})")
        if not STATE.soft_placement:
            raise PlacementError(message)
        warnings.warn(f"{message}; training on jax's default device", RuntimeWarning,
                      stacklevel=3)
        return nullcontext()

    # -- data -----------------------------------------------------------------------------
    def _forward_logit_kind(self, name: str) -> bool:
        return any(op.type == "SOFTMAX" and name in op.outputs for op in self.graph.ops)

    def _inputs(self, x, what: str = "x") -> list[np.ndarray]:
        """``x`` as a validated list of float32 arrays, one per model input."""
        arrays = list(x) if isinstance(x, (list, tuple)) else [x]
        names = self.graph.inputs
        if len(arrays) != len(names):
            raise QuantizationError(f"{what}: {len(arrays)} array(s) for a model with "
                                    f"{len(names)} input(s) ({', '.join(names)})")
        out = []
        for name, array in zip(names, arrays):
            array = np.asarray(array)
            want = self.graph.tensors[name].shape
            if array.dtype.kind not in "fiu":
                raise QuantizationError(f"{what}: dtype {array.dtype} is not numeric")
            array = array.astype(np.float32, copy=False)
            if array.ndim != len(want) or any(w > 0 and w != a for w, a in
                                              zip(want[1:], array.shape[1:])):
                raise QuantizationError(f"{what}: shape {tuple(array.shape)} does not fit "
                                        f"input {name!r} of shape {list(want)} (axis 0 "
                                        "indexes samples)")
            if array.shape[0] == 0:
                raise QuantizationError(f"{what}: holds no samples")
            if not np.isfinite(array).all():
                raise QuantizationError(f"{what}: holds NaN or Inf values")
            out.append(array)
        if len({a.shape[0] for a in out}) != 1:
            raise QuantizationError(f"{what}: the inputs hold different numbers of samples")
        return out

    def _targets(self, y, count: int, what: str = "y") -> np.ndarray:
        y = np.asarray(y)
        if y.ndim == 0 or y.shape[0] != count:
            raise QuantizationError(f"{what}: {y.shape[0] if y.ndim else 0} target(s) for "
                                    f"{count} input sample(s); x and y must match along "
                                    "axis 0")
        if y.dtype.kind not in "fiub" or (y.dtype.kind == "f" and not np.isfinite(y).all()):
            raise QuantizationError(f"{what}: targets must be finite numbers")
        return y

    def _batches(self, count: int, batch_size: int, shuffle: bool):
        """Index arrays of the batches. Shuffled (training) batches are all full when there
        are enough samples, so the train step compiles once; each epoch drops a different
        remainder."""
        order = self.rng.permutation(count) if shuffle else np.arange(count)
        stop = count - count % batch_size if shuffle and count >= batch_size else count
        for start in range(0, stop, batch_size):
            yield order[start:start + batch_size]

    # -- ranges ---------------------------------------------------------------------------
    def calibrate(self, representative_dataset) -> None:
        """Initialise every learned range from a min/max calibration (PTQ's)."""
        from ..quantize import calibrate

        dataset = representative_dataset
        if isinstance(dataset, np.ndarray) or (isinstance(dataset, (list, tuple)) and dataset
                                               and isinstance(dataset[0], np.ndarray)
                                               and len(self.graph.inputs) > 1):
            arrays = self._inputs(dataset, "representative_dataset")
            dataset = [[a[i:i + 1] for a in arrays] for i in range(arrays[0].shape[0])]
        ranges = calibrate(self.graph, dataset, progress=False)
        self._set_ranges({k: ranges[k] for k in self.plan.learned})

    def _set_ranges(self, ranges: dict) -> None:
        jnp = self.jax.numpy
        self.ranges = {k: jnp.asarray(np.array(v, np.float32)) for k, v in ranges.items()}

    def _init_ranges(self, inputs: list[np.ndarray]) -> None:
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
    def _loss_fn(self, loss):
        jnp = self.jax.numpy
        if callable(loss):
            return lambda outputs, logits, target: loss(outputs[0], target)
        if loss not in LOSSES:
            raise QuantizationError(f"loss {loss!r}: use one of {', '.join(LOSSES)} or a "
                                    "callable(prediction, target)")
        probabilities = self._logit_outputs[0]

        def log_probs(outputs, logits):
            if probabilities:
                return self.jax.nn.log_softmax(logits[0], axis=-1)
            return self.jax.nn.log_softmax(outputs[0], axis=-1)

        def compute(outputs, logits, target):
            if loss == "mse":
                return jnp.mean((outputs[0] - target) ** 2)
            if loss == "kl":
                teacher = target if probabilities else self.jax.nn.softmax(target, axis=-1)
                return jnp.mean(jnp.sum(teacher * (jnp.log(teacher + EPSILON)
                                                   - log_probs(outputs, logits)), axis=-1))
            if loss == "categorical_crossentropy":
                return -jnp.mean(jnp.sum(target * log_probs(outputs, logits), axis=-1))
            labels = target.astype(jnp.int32).reshape(-1)
            picked = jnp.take_along_axis(log_probs(outputs, logits), labels[:, None], axis=-1)
            return -jnp.mean(picked)

        return compute

    def _train_step(self, compute):
        """One jitted Adam step: (state, inputs, target, lr) -> (state, loss)."""
        jax, jnp = self.jax, self.jax.numpy
        forward, learn, c = self._forward, self.learn_scales, self.ema_constant
        b1, b2, eps = 0.9, 0.999, 1e-8

        def objective(trainable, ranges, inputs, target):
            params = trainable["weights"]
            ranges = trainable["ranges"] if learn else ranges
            outputs, logits, observed = forward(params, ranges, inputs)
            return compute(outputs, logits, target), observed

        def step(state, inputs, target, lr):
            trainable, ranges, m, v, t = state
            (value, observed), grads = jax.value_and_grad(objective, has_aux=True)(
                trainable, ranges, inputs, target)
            t = t + 1
            m = jax.tree_util.tree_map(lambda a, g: b1 * a + (1 - b1) * g, m, grads)
            v = jax.tree_util.tree_map(lambda a, g: b2 * a + (1 - b2) * g * g, v, grads)
            correction = jnp.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            trainable = jax.tree_util.tree_map(
                lambda p, a, b: p - lr * correction * a / (jnp.sqrt(b) + eps), trainable, m, v)
            if not learn:
                ranges = {k: r + c * (observed[k] - r) for k, r in ranges.items()}
            return (trainable, ranges, m, v, t), value

        return jax.jit(step)

    @_placed
    def fit(self, x, y=None, epochs: int = 1, batch_size: int = 32,
            learning_rate: float = 1e-4, loss="auto", validation_data=None,
            patience: int | None = None, shuffle: bool = True, verbose: int = 1) -> dict:
        """Train; returns ``history`` ({metric: one value per epoch}). ``y=None``
        distils from the float model. ``validation_data``: (x_val, y_val) or x_val (then
        compared with the float model). ``patience``: stop after that many epochs without a
        better validation loss (training loss without validation data), keeping the best
        weights. A NaN loss raises QuantizationError and restores the model as it was."""
        inputs = self._inputs(x)
        count = inputs[0].shape[0]
        if epochs < 1 or batch_size < 1:
            raise QuantizationError("epochs and batch_size must be at least 1")
        distill = y is None
        target = self._teacher(inputs, batch_size) if distill else self._targets(y, count)
        loss = self._default_loss(distill, target) if loss == "auto" else loss
        compute = self._loss_fn(loss)
        val = self._validation(validation_data, batch_size)
        self._init_ranges([a[:batch_size * 8] for a in inputs])
        key = (loss if not callable(loss) else id(loss))
        if key not in self._steps:
            self._steps[key] = self._train_step(compute)
        step = self._steps[key]
        jnp = self.jax.numpy
        snapshot = (self.params, self.ranges, copy.deepcopy(self.history))
        trainable = {"weights": self.params, "ranges": self.ranges if self.learn_scales else {}}
        zeros = self.jax.tree_util.tree_map(jnp.zeros_like, trainable)
        state = (trainable, self.ranges, zeros, zeros, jnp.asarray(0.0, jnp.float32))
        best, best_state, waited = math.inf, None, 0
        from ..progress import progress

        try:
            for epoch in range(epochs):
                started = time.perf_counter()
                total, seen = 0.0, 0
                bar = progress(total=count, desc=f"epoch {epoch + 1}/{epochs}", unit="sample",
                               enabled=bool(verbose), leave=verbose > 1,
                               summary=False)  # the epoch's own line follows
                for index in self._batches(count, batch_size, shuffle):
                    state, value = step(state, [a[index] for a in inputs], target[index],
                                        jnp.asarray(learning_rate, jnp.float32))
                    value = float(value)
                    if not math.isfinite(value):
                        raise QuantizationError(
                            f"the training loss became {value} at epoch {epoch + 1}, sample "
                            f"{seen}: lower the learning rate (now {learning_rate}) or check "
                            "the data; the model is left as it was before fit")
                    total += value * len(index)
                    seen += len(index)
                    bar.update(len(index))
                    bar.set_postfix(loss=f"{total / seen:.4f}")
                bar.close()
                self._adopt(state)
                record = {"loss": total / seen, "seconds": time.perf_counter() - started}
                if val is not None:
                    same_task = (val[1] is None) == distill
                    record.update({f"val_{k}": v for k, v in self.evaluate(
                        *val, batch_size=batch_size,
                        loss=loss if same_task else "auto").items()})
                for k, v in record.items():
                    self.history.setdefault(k, []).append(v)
                if verbose:
                    print(f"epoch {epoch + 1}/{epochs}: " + ", ".join(
                        f"{k} {v:.4f}" for k, v in record.items()))
                monitored = record.get("val_loss", record["loss"])
                if monitored < best:
                    best, best_state, waited = monitored, (self.params, self.ranges), 0
                else:
                    waited += 1
                    if patience is not None and waited > patience:
                        break
            if patience is not None and best_state is not None:
                self.params, self.ranges = best_state
        except BaseException:
            self.params, self.ranges, self.history = snapshot
            raise
        return self.history

    def _adopt(self, state) -> None:
        trainable, ranges = state[0], state[1]
        self.params = trainable["weights"]
        self.ranges = trainable["ranges"] if self.learn_scales else ranges

    def _default_loss(self, distill: bool, target: np.ndarray) -> str:
        if distill:
            return "kl" if self._logit_outputs[0] or target.ndim == 2 else "mse"
        if target.dtype.kind in "iub" and target.ndim == 1:
            return "sparse_categorical_crossentropy"
        return "mse"

    def _validation(self, data, batch_size: int):
        if data is None:
            return None
        if isinstance(data, tuple) and len(data) == 2:
            x, y = data
            inputs = self._inputs(x, "validation_data x")
            return inputs, self._targets(y, inputs[0].shape[0], "validation_data y")
        inputs = self._inputs(data, "validation_data")
        return inputs, None

    def _teacher(self, inputs: list[np.ndarray], batch_size: int) -> np.ndarray:
        """The float model's first output on ``inputs``."""
        return self._run(inputs, batch_size, quantize=False)[0]

    # -- inference ------------------------------------------------------------------------
    def _run(self, inputs: list[np.ndarray], batch_size: int, quantize: bool) -> list:
        params = self.params if quantize else {k: self.jax.numpy.asarray(v)
                                               for k, v in self.float_params.items()}
        if quantize:
            self._init_ranges([a[:batch_size * 8] for a in inputs])
        ranges = self.ranges if quantize else {}
        parts = []
        # "highest": no TF32 on GPUs, so predictions compare with the integer model's.
        with self.jax.default_matmul_precision("highest"):
            for index in self._batches(inputs[0].shape[0], batch_size, shuffle=False):
                outputs, _, _ = self._jit_forward(params, ranges, [a[index] for a in inputs],
                                                  quantize=quantize)
                parts.append([np.asarray(o) for o in outputs])
        return [np.concatenate(p) for p in zip(*parts)]

    def tensors(self, x, quantized: bool = True, feed: dict | None = None
                ) -> dict[str, np.ndarray]:
        """Every tensor of the graph on ``x`` (one batch), as the fake-quant model computes it:
        what the int8 model's tensors hold, dequantized, up to rounding. ``feed`` {tensor:
        value} makes the ops read those values instead (to check one op at a time)."""
        inputs = self._inputs(x)
        if quantized:
            self._init_ranges(inputs)
        params = self.params if quantized else self.float_params
        with self.jax.default_matmul_precision("highest"):
            values, _, _ = self._jit_forward(params, self.ranges if quantized else {}, inputs,
                                             quantize=quantized, keep=True, feed=feed)
        return {k: np.asarray(v) for k, v in values.items()}

    @_placed
    def predict(self, x, batch_size: int = 256, quantized: bool = True):
        """The fake-quantized model's outputs (``quantized=False``: the original float
        model's); one array, or a list for several outputs."""
        outputs = self._run(self._inputs(x), batch_size, quantize=quantized)
        return outputs[0] if len(outputs) == 1 else outputs

    @_placed
    def evaluate(self, x, y=None, batch_size: int = 256, loss="auto",
                 quantized: bool = True) -> dict[str, float]:
        """{"loss", and "accuracy" for class labels (or top-1 agreement with the float
        model when ``y`` is None)}."""
        inputs = self._inputs(x)
        prediction = self._run(inputs, batch_size, quantize=quantized)[0]
        distill = y is None
        target = (self._teacher(inputs, batch_size) if distill
                  else self._targets(y, inputs[0].shape[0]))
        loss = self._default_loss(distill, target) if loss == "auto" else loss
        jnp = self.jax.numpy
        logits = [jnp.log(jnp.maximum(prediction, EPSILON))] if self._logit_outputs[0] \
            else [None]
        value = float(self._loss_fn(loss)([jnp.asarray(prediction)], logits,
                                                   jnp.asarray(target)))
        result = {"loss": value}
        if prediction.ndim == 2:
            labels = target.argmax(-1) if distill or target.ndim == 2 else target.reshape(-1)
            result["accuracy"] = float(np.mean(prediction.argmax(-1) == labels))
        return result

    # -- export ---------------------------------------------------------------------------
    def trained_float_graph(self) -> Graph:
        """A copy of the float graph holding the trained weights."""
        graph = copy.deepcopy(self.graph)
        for name, value in self.params.items():
            graph.tensors[name].data = np.asarray(value, np.float32)
        return graph

    def convert(self, inference_input_type=np.float32, inference_output_type=np.float32,
                check_data=None) -> bytes:
        """The int8 .tflite bytes: the trained weights, quantized with the learned ranges by
        `quantize_int8` (per channel as prepared). With ``check_data`` (inputs), the top-1
        agreement between the integer model (edgeport's interpreter) and the fake-quant model
        is measured into ``self.agreement``, with a warning under 99.5%."""
        from ..export.tflite import write_tflite
        from ..quantize import quantize_int8

        graph = self.trained_float_graph()
        ranges = self.plan.ranges_for_conversion(self.learned_ranges())
        options = copy.copy(self.options)
        options.input_type = np.dtype(inference_input_type)
        options.output_type = np.dtype(inference_output_type)
        try:
            model = write_tflite(quantize_int8(graph, ranges, options).validate())
        except QuantizationError:
            raise
        except EdgeportError as exc:
            raise QuantizationError(f"converting the trained model failed: {exc}") from None
        if check_data is not None:
            self.agreement = self.top1_agreement(model, check_data)
            if self.agreement < AGREEMENT_TARGET:
                warnings.warn(f"the int8 model agrees with the fake-quant model on only "
                              f"{self.agreement:.2%} of the check samples", stacklevel=2)
        return model

    def top1_agreement(self, model: bytes, x) -> float:
        """The fraction of samples whose arg-max the int8 ``model`` and this fake-quant model
        agree on (first output)."""
        from ..lite import Interpreter

        inputs = self._inputs(x)
        ours = self._run(inputs, 256, quantize=True)[0]
        interpreter = Interpreter(model_content=model)
        details = interpreter.get_input_details()
        for detail, value in zip(details, inputs):
            interpreter.resize_tensor_input(detail["index"], value.shape)
        interpreter.allocate_tensors()
        for detail, value in zip(details, inputs):
            interpreter.set_tensor(detail["index"], _as_input(value, detail))
        interpreter.invoke()
        theirs = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
        return float(np.mean(ours.reshape(len(ours), -1).argmax(-1)
                             == theirs.reshape(len(theirs), -1).argmax(-1)))


def _as_input(value: np.ndarray, detail: dict) -> np.ndarray:
    """A float input on an integer model input's grid."""
    dtype = np.dtype(detail["dtype"])
    if dtype == np.float32:
        return value
    scale, zero = detail["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(value / scale) + zero, info.min, info.max).astype(dtype)
