"""The two forms of the kernels that have a compiled loop (edgeport.ops.compiled): a test that
takes the ``kernel_form`` fixture runs once with numba's loops and once with NumPy alone, and
its compiled run, when it passes, must really have run a compiled loop."""

import pytest

from edgeport.ops import compiled

COMPILED_ENTRY_POINTS = ("depthwise_conv", "resize_bilinear", "prelu")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep on each test item whether its call phase passed (read by ``kernel_form``)."""
    report = yield
    if report.when == "call":
        item.call_passed = report.passed
    return report


@pytest.fixture(params=["compiled", "numpy"])
def kernel_form(request, monkeypatch):
    if request.param == "numpy":
        monkeypatch.setenv("EDGEPORT_NUMBA", "0")
        assert not compiled.compiled_kernels_enabled()
        yield request.param
        return
    monkeypatch.delenv("EDGEPORT_NUMBA", raising=False)
    # numba is a test dependency: without it this form would silently be NumPy's.
    assert compiled.compiled_kernels_status() == "on", compiled.compiled_kernels_status()
    ran = []
    for name in COMPILED_ENTRY_POINTS:
        monkeypatch.setattr(compiled, name, counted(getattr(compiled, name), ran))
    yield request.param
    if getattr(request.node, "call_passed", False):  # a failure speaks for itself
        assert ran, "no compiled loop ran: the test exercised NumPy's form only"


def counted(entry_point, ran: list):
    """``entry_point``, recording in ``ran`` each call that a compiled loop answered."""
    def call(*args, **kwargs):
        result = entry_point(*args, **kwargs)
        if result is not None:
            ran.append(entry_point.__name__)
        return result
    return call
