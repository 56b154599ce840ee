"""GPU discovery without a framework, against a fake nvidia-smi on PATH and a fake NVML module:
several GPUs, MIG, CUDA_VISIBLE_DEVICES subsets, broken driver output (a clear warning, never a
crash), and no GPU at all."""

from __future__ import annotations

import os
import stat
import sys
import types
from types import SimpleNamespace

import pytest

import edgeport.config as config
import edgeport.test as eptest
from edgeport.runtime import devices, gpu_probes

UUIDS = ["GPU-11111111-aaaa", "GPU-22222222-bbbb", "GPU-33333333-cccc"]
SMI_ROWS = [
    f"0, {UUIDS[0]}, NVIDIA H100 80GB HBM3, 81559, 1024, 37, 9.0, 550.54.15, Disabled",
    f"1, {UUIDS[1]}, NVIDIA A100-SXM4-40GB, 40960, 0, [N/A], 8.0, 550.54.15, Disabled",
    f"2, {UUIDS[2]}, Tesla T4, 15360, 512, 3, 7.5, 550.54.15, Disabled",
]
MIG_ROW = f"0, {UUIDS[0]}, NVIDIA A100-SXM4-40GB, 40960, 0, [N/A], 8.0, 550.54.15, Enabled"
MIG_LISTING = f"""GPU 0: NVIDIA A100-SXM4-40GB (UUID: {UUIDS[0]})
  MIG 3g.20gb     Device  0: (UUID: MIG-aaaa0000-1111)
  MIG 1g.5gb      Device  1: (UUID: MIG-bbbb0000-2222)
"""


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No real NVML, driver library or nvidia-smi; the discovery cache cleared."""
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml -> ImportError
    monkeypatch.setattr(gpu_probes, "_libcuda_present", lambda: False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(devices, "STATE", devices.RuntimeState())
    monkeypatch.setattr(config, "STATE", devices.STATE)
    yield
    devices.STATE.gpus = None


def fake_smi(tmp_path, query_output: str, listing: str = "", status: int = 0):
    """An executable nvidia-smi printing ``query_output`` for --query-gpu, ``listing`` for -L."""
    (tmp_path / "query.txt").write_text(query_output)
    (tmp_path / "listing.txt").write_text(listing)
    script = tmp_path / "nvidia-smi"
    script.write_text(f"""#!{sys.executable}
import sys
here = {str(tmp_path)!r}
if "-L" in sys.argv:
    print(open(here + "/listing.txt").read(), end="")
else:
    print(open(here + "/query.txt").read(), end="")
sys.exit({status})
""")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def fresh_gpus():
    return devices.gpus(refresh=True)


def test_no_gpu_is_not_an_error():
    assert config.list_physical_devices() == [
        config.PhysicalDevice("/physical_device:CPU:0", "CPU")]
    assert config.list_physical_devices("GPU") == []
    assert not eptest.is_gpu_available()
    assert eptest.gpu_device_name() == ""


def test_nvidia_smi_several_gpus(tmp_path):
    fake_smi(tmp_path, "\n".join(SMI_ROWS) + "\n")
    fresh_gpus()
    assert [d.name for d in config.list_physical_devices("gpu")] == [
        f"/physical_device:GPU:{i}" for i in range(3)]
    assert config.list_physical_devices()[0].device_type == "CPU"
    details = config.experimental.get_device_details(config.list_physical_devices("GPU")[1])
    assert details["device_name"] == "NVIDIA A100-SXM4-40GB"
    assert details["compute_capability"] == (8, 0)
    assert details["memory_total"] == 40960 << 20
    assert "utilization" not in details  # [N/A]
    assert eptest.is_gpu_available() and eptest.gpu_device_name() == "/device:GPU:0"
    assert eptest.is_gpu_available(min_cuda_compute_capability=(9, 0))
    assert not eptest.is_gpu_available(min_cuda_compute_capability=(9, 1))


@pytest.mark.parametrize("visible, expected", [
    ("2,0", ["Tesla T4", "NVIDIA H100 80GB HBM3"]),
    ("GPU-2222", ["NVIDIA A100-SXM4-40GB"]),
    ("1,7,0", ["NVIDIA A100-SXM4-40GB"]),  # an invalid entry ends the list, as in CUDA
    ("0,0", ["NVIDIA H100 80GB HBM3"]),
    ("", []),
    ("-1", []),
])
def test_cuda_visible_devices(tmp_path, monkeypatch, visible, expected):
    fake_smi(tmp_path, "\n".join(SMI_ROWS) + "\n")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    found = fresh_gpus()
    assert [g.name for g in found] == expected
    assert [g.index for g in found] == list(range(len(expected)))


def test_mig_instances_from_nvidia_smi(tmp_path, monkeypatch):
    fake_smi(tmp_path, MIG_ROW + "\n", MIG_LISTING)
    found = fresh_gpus()
    assert [(g.name, g.uuid, g.mig) for g in found] == [
        ("NVIDIA A100-SXM4-40GB MIG 3g.20gb", "MIG-aaaa0000-1111", True),
        ("NVIDIA A100-SXM4-40GB MIG 1g.5gb", "MIG-bbbb0000-2222", True)]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "MIG-bbbb0000-2222")
    assert [g.uuid for g in fresh_gpus()] == ["MIG-bbbb0000-2222"]


@pytest.mark.parametrize("output, status", [
    ("0, GPU-x, only three fields\n", 0),
    ("0, GPU-x, Name, lots, 0, 1, 8.0, 550, Disabled\n", 0),
    ("garbage from a broken driver", 0),
    ("Unknown Error\n", 9),
])
def test_broken_nvidia_smi_warns(tmp_path, output, status):
    fake_smi(tmp_path, output, status=status)
    with pytest.warns(RuntimeWarning, match="GPU discovery: nvidia-smi"):
        assert fresh_gpus() == []
    assert config.list_physical_devices("GPU") == []


def test_nvidia_smi_without_driver_is_no_gpu(tmp_path):
    fake_smi(tmp_path, "NVIDIA-SMI has failed because it couldn't communicate with the "
                       "NVIDIA driver.\n", status=9)
    assert fresh_gpus() == []


# -- a fake NVML (nvidia-ml-py's pynvml module) ---------------------------------------------
class NVMLError(Exception):
    pass


def fake_pynvml(gpus: list[dict], init_error: bool = False):
    """A pynvml module over ``gpus``: dicts with name, uuid, total, used, util (None: not
    supported), cc, and optionally mig: a list of such dicts."""
    handles = {}

    def handle(spec):
        handles[id(spec)] = spec
        return spec

    def need(value):
        if value is None:
            raise NVMLError("Not Supported")
        return value

    def mig_handle(spec, k):
        if k >= len(spec.get("mig", [])):
            raise NVMLError("Not Found")
        return handle(spec["mig"][k])

    def init():
        if init_error:
            raise NVMLError("Driver Not Loaded")

    return types.SimpleNamespace(
        nvmlInit=init, nvmlShutdown=lambda: None,
        nvmlSystemGetDriverVersion=lambda: b"550.54.15",
        nvmlDeviceGetCount=lambda: len(gpus),
        nvmlDeviceGetHandleByIndex=lambda i: handle(gpus[i]),
        nvmlDeviceGetName=lambda h: h["name"],
        nvmlDeviceGetUUID=lambda h: h["uuid"],
        nvmlDeviceGetMemoryInfo=lambda h: SimpleNamespace(total=h["total"], used=h["used"],
                                                          free=h["total"] - h["used"]),
        nvmlDeviceGetUtilizationRates=lambda h: SimpleNamespace(gpu=need(h["util"]), memory=0),
        nvmlDeviceGetCudaComputeCapability=lambda h: need(h["cc"]),
        nvmlDeviceGetMigMode=lambda h: (1, 1) if "mig" in h else (_ for _ in ()).throw(
            NVMLError("Not Supported")),
        nvmlDeviceGetMaxMigDeviceCount=lambda h: 7,
        nvmlDeviceGetMigDeviceHandleByIndex=mig_handle)


GIB = 1 << 30
NVML_GPUS = [
    dict(name="NVIDIA H100 80GB HBM3", uuid="GPU-aaaa", total=80 * GIB, used=GIB, util=12,
         cc=(9, 0)),
    dict(name="NVIDIA A100-SXM4-80GB", uuid="GPU-bbbb", total=80 * GIB, used=0, util=0,
         cc=(8, 0), mig=[dict(name="NVIDIA A100-SXM4-80GB MIG 3g.40gb", uuid="MIG-cccc",
                              total=40 * GIB, used=0, util=None, cc=None)]),
]


def test_nvml_gpus_and_mig(monkeypatch, tmp_path):
    fake_smi(tmp_path, "must not be asked\n", status=1)  # NVML answers first
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(NVML_GPUS))
    found = fresh_gpus()
    assert [(g.name, g.uuid, g.mig, g.source) for g in found] == [
        ("NVIDIA H100 80GB HBM3", "GPU-aaaa", False, "nvml"),
        ("NVIDIA A100-SXM4-80GB MIG 3g.40gb", "MIG-cccc", True, "nvml")]
    details = config.get_device_details(config.list_physical_devices("GPU")[1])
    assert details["compute_capability"] == (8, 0)  # the parent GPU's
    assert details["memory_total"] == 40 * GIB and "utilization" not in details
    assert found[0].utilization == 12 and found[0].driver_version == "550.54.15"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "MIG-cccc,GPU-aaaa")
    assert [g.uuid for g in fresh_gpus()] == ["MIG-cccc", "GPU-aaaa"]


def test_nvml_without_driver_tries_nvidia_smi(monkeypatch, tmp_path):
    fake_smi(tmp_path, SMI_ROWS[2] + "\n")
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml([], init_error=True))
    assert [g.name for g in fresh_gpus()] == ["Tesla T4"]


def test_broken_nvml_warns_and_falls_back(monkeypatch, tmp_path):
    fake_smi(tmp_path, SMI_ROWS[2] + "\n")
    broken = fake_pynvml(NVML_GPUS)
    broken.nvmlDeviceGetMemoryInfo = lambda h: (_ for _ in ()).throw(NVMLError("Unknown"))
    monkeypatch.setitem(sys.modules, "pynvml", broken)
    with pytest.warns(RuntimeWarning, match="GPU discovery: NVML"):
        assert [g.name for g in fresh_gpus()] == ["Tesla T4"]


def test_set_visible_devices_hides_gpus(tmp_path):
    fake_smi(tmp_path, "\n".join(SMI_ROWS) + "\n")
    fresh_gpus()
    gpus = config.list_physical_devices("GPU")
    config.set_visible_devices(gpus[1:], "GPU")
    assert config.get_visible_devices("GPU") == gpus[1:]
    assert config.get_visible_devices("CPU") == config.list_physical_devices("CPU")
    with pytest.raises(ValueError, match="not a physical device"):
        config.set_visible_devices([config.PhysicalDevice("/physical_device:GPU:9", "GPU")])


def test_devices_table_without_gpu(capsys):
    from edgeport.cli.devices import devices_command

    assert devices_command(SimpleNamespace()) == 0
    out = capsys.readouterr().out
    assert "CPU" in out and "no GPU" in out


def test_devices_table_with_gpus(tmp_path, capsys):
    fake_smi(tmp_path, "\n".join(SMI_ROWS) + "\n")
    fresh_gpus()
    from edgeport.cli.devices import devices_command

    assert devices_command(SimpleNamespace()) == 0
    out = capsys.readouterr().out
    for text in ("NVIDIA H100 80GB HBM3", "1024 / 81559 MiB", "37 %", "9.0", "550.54.15",
                 "Tesla T4"):
        assert text in out, text


def test_import_edgeport_stays_light():
    import subprocess

    code = ("import sys, edgeport, edgeport.config, edgeport.test; "
            "edgeport.config.list_physical_devices(); print('jax' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "PATH": os.environ["PATH"]})
    assert result.stdout.strip() == "False", result.stderr
