"""The two forms of the kernels that have a compiled loop (edgeport.ops.compiled): a test that
takes the ``kernel_form`` fixture runs once with numba's loop and once with NumPy alone."""

import pytest

from edgeport.ops.compiled import compiled_kernels_enabled


@pytest.fixture(params=["compiled", "numpy"])
def kernel_form(request, monkeypatch):
    if request.param == "numpy":
        monkeypatch.setenv("EDGEPORT_NUMBA", "0")
    else:  # numba is a test dependency: without it this form would silently be NumPy's
        monkeypatch.delenv("EDGEPORT_NUMBA", raising=False)
        assert compiled_kernels_enabled(), "numba is not installed (pip install .[test])"
    assert compiled_kernels_enabled() == (request.param == "compiled")
    return request.param
