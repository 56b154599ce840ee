"""numba's loops (edgeport.ops.compiled: DEPTHWISE_CONV_2D, RESIZE_BILINEAR, PRELU and the
integer kernels' output stage) against the NumPy forms of the same ops, and the switches that
choose between them. Both forms are also
checked against LiteRT (the ``kernel_form`` fixture of tests/ops/conftest.py, in test_conv.py,
test_int8_conv.py, test_resize.py and test_activations.py)."""

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from edgeport.fixedpoint import multiply_by_quantized_multiplier, quantize_multipliers
from edgeport.ops import compiled, get_op
from tests.ops.test_conv import conv_attrs

DEPTHWISE = get_op("DEPTHWISE_CONV_2D")
RESIZE = get_op("RESIZE_BILINEAR")


@pytest.fixture(autouse=True)
def numba_on(monkeypatch):
    monkeypatch.delenv("EDGEPORT_NUMBA", raising=False)
    # numba is a test dependency: without it these tests would compare NumPy with itself.
    assert compiled.compiled_kernels_status() == "on", compiled.compiled_kernels_status()


def depthwise(monkeypatch, form, attrs, x, w, b):
    monkeypatch.setenv("EDGEPORT_NUMBA", "1" if form == "compiled" else "0")
    return DEPTHWISE.run_float(attrs, x, w, b)


@pytest.mark.parametrize("kernel", [(1, 1), (3, 3), (5, 5), (2, 3)])
@pytest.mark.parametrize("stride,dilation", [((1, 1), (1, 1)), ((2, 2), (1, 1)),
                                             ((1, 3), (2, 1)), ((2, 1), (1, 2))])
@pytest.mark.parametrize("channels", [1, 16, 17])
def test_compiled_depthwise_equals_numpy(monkeypatch, kernel, stride, dilation, channels):
    rng = np.random.default_rng(channels)
    attrs = conv_attrs("SAME", stride, dilation, depth_multiplier=1)
    x = rng.standard_normal((2, 11, 13, channels)).astype(np.float32)
    w = rng.standard_normal((1, *kernel, channels)).astype(np.float32)
    b = rng.standard_normal(channels).astype(np.float32)
    got, want = (depthwise(monkeypatch, form, attrs, x, w, b) for form in ("compiled", "numpy"))
    assert got.dtype == want.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_compiled_depthwise_integer_sums_are_exact(monkeypatch):
    # The integer kernels run the float kernel on centered int8 values in float64.
    rng = np.random.default_rng(0)
    x = rng.integers(-255, 256, (3, 9, 8, 24)).astype(np.float64)
    w = rng.integers(-255, 256, (1, 3, 3, 24)).astype(np.float64)
    attrs = conv_attrs("VALID", (2, 1), depth_multiplier=1)
    got, want = (depthwise(monkeypatch, form, attrs, x, w, None) for form in ("compiled", "numpy"))
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, want)


def test_compiled_kernel_is_used_only_where_it_applies(monkeypatch):
    x32, w32 = np.ones((1, 4, 4, 2), np.float32), np.ones((1, 3, 3, 2), np.float32)
    run = dict(bias=None, out_hw=(2, 2), strides=(1, 1), dilations=(1, 1))
    np.testing.assert_array_equal(compiled.depthwise_conv(x32, w32, **run),
                                  np.full((1, 2, 2, 2), 9))
    for x, w in ((x32.astype(np.float16), w32.astype(np.float16)), (x32, w32.astype(np.float64))):
        assert compiled.depthwise_conv(x, w, **run) is None  # NumPy's form takes these
    assert compiled.depthwise_conv(x32, w32, **{**run, "out_hw": (0, 2)}) is None
    monkeypatch.setenv("EDGEPORT_NUMBA", "0")
    assert not compiled.compiled_kernels_enabled()
    assert compiled.depthwise_conv(x32, w32, **run) is None


def test_compiled_depthwise_checks_the_bias():
    x, w = np.ones((1, 3, 3, 4), np.float32), np.ones((1, 3, 3, 4), np.float32)
    run = dict(out_hw=(1, 1), strides=(1, 1), dilations=(1, 1))
    row = compiled.depthwise_conv(x, w, np.arange(4, dtype=np.float32)[None], **run)
    np.testing.assert_array_equal(row.reshape(-1), [9, 10, 11, 12])  # a [1, C] bias broadcasts
    with pytest.raises(ValueError):  # never a read past the end of a short bias
        compiled.depthwise_conv(x, w, np.ones(3, np.float32), **run)


def test_without_numba_every_op_runs_numpy(monkeypatch):
    monkeypatch.setattr(compiled, "_numba", lambda: None)
    assert compiled.compiled_kernels_status() == \
        "off (numba is not installed: pip install edgeport[fast])"
    attrs = conv_attrs("SAME", depth_multiplier=1)
    x, w = np.ones((1, 3, 3, 1), np.float32), np.ones((1, 3, 3, 1), np.float32)
    np.testing.assert_array_equal(DEPTHWISE.run_float(attrs, x, w)[0, :, :, 0],
                                  [[4, 6, 4], [6, 9, 6], [4, 6, 4]])
    resized = RESIZE.run_float({"align_corners": True}, x, np.array([5, 5], np.int32))
    np.testing.assert_array_equal(resized, np.ones((1, 5, 5, 1)))


def test_status_says_why_the_loops_are_off(monkeypatch):
    monkeypatch.setattr(compiled._numba().config, "DISABLE_JIT", True)
    assert compiled.compiled_kernels_status() == "off (NUMBA_DISABLE_JIT is set)"
    assert not compiled.compiled_kernels_enabled()
    monkeypatch.setenv("EDGEPORT_NUMBA", "0")
    assert compiled.compiled_kernels_status() == "off (EDGEPORT_NUMBA=0)"

@pytest.mark.parametrize("align,half_pixel", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("shape,size", [((2, 5, 4, 16), (11, 9)), ((1, 9, 16, 3), (18, 32)),
                                        ((3, 6, 6, 1), (2, 3))])
def test_compiled_resize_bilinear_is_bit_identical(monkeypatch, align, half_pixel, shape, size):
    attrs = {"align_corners": align, "half_pixel_centers": half_pixel}
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    results = []
    for form in ("1", "0"):
        monkeypatch.setenv("EDGEPORT_NUMBA", form)
        results.append(RESIZE.run_float(attrs, x, np.array(size, np.int32)))
    assert results[0].dtype == np.float32 and results[0].shape == (shape[0], *size, shape[3])
    np.testing.assert_array_equal(*results)


def test_compiled_resize_leaves_other_dtypes_to_numpy():
    rows = columns = (np.zeros(2, np.int32), np.ones(2, np.int32), np.full(2, 0.5, np.float32))
    x = np.ones((1, 2, 2, 1), np.float32)
    np.testing.assert_array_equal(compiled.resize_bilinear(x, rows, columns),
                                  np.ones((1, 2, 2, 1)))
    for dtype in (np.float16, np.float64):
        assert compiled.resize_bilinear(x.astype(dtype), rows, columns) is None
    assert compiled.resize_bilinear(x[:0], rows, columns) is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha_shape", [(1, 1, 16), (16,), (), (1,)])
@pytest.mark.parametrize("special_alphas", [False, True])
def test_compiled_prelu_is_bit_identical(monkeypatch, dtype, alpha_shape, special_alphas):
    prelu, rng = get_op("PRELU"), np.random.default_rng(5)
    x = rng.standard_normal((2, 7, 9, 16)).astype(dtype)
    x[0, 0, 0] = [np.inf, -np.inf, np.nan, -0.0] * 4
    alpha = rng.uniform(-2, 2, alpha_shape).astype(np.float32)
    if special_alphas:  # NumPy's form then takes its np.where branch
        alpha.reshape(-1)[:4] = [0.0, np.inf, np.nan, -np.inf][:alpha.size]
    results = []
    for form in ("1", "0"):
        monkeypatch.setenv("EDGEPORT_NUMBA", form)
        with np.errstate(invalid="ignore"):  # inf * 0, as the executor runs its kernels
            results.append(prelu.run_float({}, x, alpha))
    assert results[0].dtype == dtype
    np.testing.assert_array_equal(*(r.view(f"u{r.itemsize}") for r in results))


def test_compiled_prelu_takes_one_alpha_per_channel_only():
    x = np.ones((2, 3, 4), np.float32)
    np.testing.assert_array_equal(compiled.prelu(-x, np.arange(4, dtype=np.float32)),
                                  np.broadcast_to(-np.arange(4), x.shape))
    for alpha_shape in ((3, 4), (2, 1, 1), (3, 1), (1, 1, 1, 4)):  # NumPy broadcasts these
        assert compiled.prelu(x, np.ones(alpha_shape, np.float32)) is None
    assert compiled.prelu(x.astype(np.float16), np.ones(4, np.float16)) is None
    assert compiled.prelu(x[:0], np.ones(4, np.float32)) is None
    np.testing.assert_array_equal(compiled.prelu(np.float32(-2).reshape(()), np.float32(0.5)),
                                  -1)


def test_numpy_prelu_takes_a_scalar(monkeypatch):
    monkeypatch.setenv("EDGEPORT_NUMBA", "0")
    out = get_op("PRELU").run_float({}, np.array(-2, np.float32), np.array(0.25, np.float32))
    assert out.shape == () and out == -0.5


def numpy_requantize(acc, multiplier, shift, zero, low, high, dtype):
    return np.clip(multiply_by_quantized_multiplier(acc, multiplier, shift) + zero,
                   low, high).astype(dtype)


@pytest.mark.parametrize("dtype,zero,low,high", [(np.int8, 3, -128, 127), (np.uint8, 128, 0, 255),
                                                 (np.int16, 0, -32768, 32767),
                                                 (np.int8, -7, -100, 50)])
def test_compiled_requantize_is_bit_identical(dtype, zero, low, high):
    """Accumulators over int32 and beyond (wrapped as C++ wraps them), with multipliers below,
    at and above 1, per channel or one for all."""
    rng = np.random.default_rng(0)
    acc = np.concatenate([rng.integers(-2 ** 31, 2 ** 31, (300, 8)),
                          rng.integers(-2 ** 20, 2 ** 20, (300, 8)),
                          rng.integers(-2 ** 40, 2 ** 40, (30, 8)),
                          np.full((1, 8), -2 ** 31), np.full((1, 8), 2 ** 31 - 1)]).astype(np.int64)
    multipliers, shifts = quantize_multipliers([3e-6, 1e-3, 0.0123, 0.5, 0.999, 1.5, 3.7, 2e-10])
    for m, s in ((multipliers, shifts), (multipliers[2], shifts[2])):
        got = compiled.requantize(acc, m, s, zero, low, high, dtype)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, numpy_requantize(acc, m, s, zero, low, high, dtype))


def test_compiled_requantize_applies_to_int64_accumulators_only():
    multiplier, shift = quantize_multipliers([0.01, 0.02])
    acc = np.arange(8, dtype=np.int64).reshape(4, 2)
    assert compiled.requantize(acc.astype(np.int32), multiplier, shift, 0, -128, 127,
                               np.int8) is None
    assert compiled.requantize(acc, multiplier, shift, 0, 0, 2 ** 31, np.int32) is None
    assert compiled.requantize(acc.reshape(2, 4), multiplier, shift, 0, -128, 127,
                               np.int8) is None  # two multipliers, four channels
    assert compiled.requantize(acc[:0], multiplier, shift, 0, -128, 127, np.int8) is None


CACHE_PROBE = """
import numpy as np
from edgeport.ops import compiled
x = np.ones((1, 6, 6, 4), np.float32)
compiled.depthwise_conv(x, np.ones((1, 3, 3, 4), np.float32), None, (4, 4), (1, 1), (1, 1))
compiled.prelu(x, np.ones(4, np.float32))
print(sum(len(f.stats.cache_hits) for f in compiled._variants.values()), len(compiled._variants))
"""


def test_compiled_loops_are_kept_on_disk_one_index_a_variant(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    runs = [subprocess.run([sys.executable, "-c", CACHE_PROBE], capture_output=True, text=True,
                           check=True).stdout.split() for _ in range(2)]
    assert runs == [["0", "2"], ["2", "2"]]  # compiled, then loaded
    indexes = sorted(path.name for path in tmp_path.rglob("*.nbi"))
    assert len(indexes) == 2 and "3x3_float32" in indexes[0] and "prelu" in indexes[1]


def test_without_a_usable_disk_cache_loops_compile_in_each_process(monkeypatch):
    numba, tries = compiled._numba(), []

    def njit(signature, **options):
        tries.append(options.get("cache", False))
        if options.get("cache"):  # as numba raises where it has no writable cache directory
            raise RuntimeError("cannot cache function 'loop': no locator available")
        return numba.njit(signature, **options)

    fake = SimpleNamespace(njit=njit, void=numba.void, typeof=numba.typeof,
                           config=numba.config, core=numba.core)
    monkeypatch.setattr(compiled, "_numba", lambda: fake)
    monkeypatch.setattr(compiled, "_variants", {})
    x = np.array([[-2.0, 3.0]], np.float32)
    with pytest.warns(RuntimeWarning, match="numba cannot cache _prelu_loop_float32"):
        np.testing.assert_array_equal(compiled.prelu(x, np.float32(0.5)), [[-1, 3]])
    assert tries == [True, False]


def test_compiled_entry_points_refuse_what_would_leave_the_input():
    x, w = np.ones((1, 4, 4, 2), np.float32), np.ones((1, 3, 3, 2), np.float32)
    for out_hw, strides, dilations in (((3, 2), (1, 1), (1, 1)), ((2, 2), (2, 1), (1, 1)),
                                       ((2, 2), (1, 1), (1, 2)), ((2, 2), (0, 1), (1, 1))):
        with pytest.raises(ValueError, match="do not fit"):
            compiled.depthwise_conv(x, w, None, out_hw, strides, dilations)
    with pytest.raises(ValueError, match="do not fit"):  # a filter of other channels
        compiled.depthwise_conv(x, np.ones((1, 3, 3, 3), np.float32), None, (2, 2), (1, 1),
                                (1, 1))
    taps = (np.array([0, 4], np.int32), np.array([1, 3], np.int32), np.ones(2, np.float32))
    good = (np.array([0, 1], np.int32), np.array([1, 3], np.int32), np.ones(2, np.float32))
    with pytest.raises(ValueError, match="out of range"):
        compiled.resize_bilinear(x, taps, good)
    assert compiled.resize_bilinear(x, good, good).shape == (1, 2, 2, 2)
