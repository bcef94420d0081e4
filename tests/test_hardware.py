"""What the machine is, and which precision ``auto`` picks: every branch, with the detection faked."""

import pytest
import torch

from infogan import hardware
from infogan.hardware import CPUInfo, choose_precision

CPU, CUDA, MPS = torch.device("cpu"), torch.device("cuda"), torch.device("mps")
ZEN3 = CPUInfo("AMD EPYC 7B13", frozenset({"sse2", "avx", "avx2", "fma"}), "x86_64")
SAPPHIRE = CPUInfo("Intel Xeon", frozenset({"avx2", "avx512f", "avx512_bf16"}), "x86_64")
AMX = CPUInfo("Intel Xeon", frozenset({"avx2", "avx512f", "amx_tile", "amx_bf16"}), "x86_64")
GRAVITON3 = CPUInfo("", frozenset({"fp", "asimd", "sve", "bf16"}), "aarch64")
GRAVITON2 = CPUInfo("", frozenset({"fp", "asimd"}), "aarch64")
UNREADABLE = CPUInfo("arm", frozenset(), "arm64")


@pytest.fixture
def cpu_is(monkeypatch):
    def fake(cpu: CPUInfo) -> None:
        monkeypatch.setattr(hardware, "cpu_info", lambda: cpu)

    return fake


@pytest.fixture
def gpu_is(monkeypatch):
    def fake(capability: tuple[int, int], bf16: bool) -> None:
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Fake GPU")
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: bf16)

    return fake


@pytest.fixture
def checked(monkeypatch):
    """Marks a device kind as having passed the accuracy check over seeds."""
    return lambda kind: monkeypatch.setitem(hardware.BF16_ACCURACY_CHECKED, kind, True)


X86_CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_bf16 amx_tile

processor\t: 1
model name\t: another
flags\t\t: fpu
"""
ARM_CPUINFO = """processor\t: 0
BogoMIPS\t: 2100.00
Features\t: fp asimd evtstrm sve bf16
CPU part\t: 0xd40
"""


def test_cpuinfo_is_read_from_the_first_processor_on_x86_and_aarch64(tmp_path, monkeypatch):
    (tmp_path / "x86").write_text(X86_CPUINFO)
    cpu = hardware.cpu_info(tmp_path / "x86")
    assert cpu.model == "Intel(R) Xeon(R) Platinum 8480+"
    assert {"avx512_bf16", "amx_bf16", "amx_tile"} <= cpu.flags and "fpu" in cpu.flags
    monkeypatch.setattr(hardware.platform, "machine", lambda: "aarch64")
    (tmp_path / "arm").write_text(ARM_CPUINFO)
    assert hardware.cpu_info(tmp_path / "arm").bf16_flags() == ["bf16"]
    assert hardware.cpu_info(tmp_path / "missing").flags == frozenset()


@pytest.mark.parametrize(("cpu", "flags"), [(SAPPHIRE, ["avx512_bf16"]), (AMX, ["amx_bf16"]), (GRAVITON3, ["bf16"])])
def test_native_cpus_get_bf16_from_auto_only_once_checked(cpu_is, checked, cpu, flags):
    cpu_is(cpu)
    unchecked = choose_precision("auto", CPU)
    assert unchecked.precision == "fp32" and "not yet checked" in unchecked.reason
    assert all(flag in unchecked.reason for flag in flags)
    checked("cpu")
    chosen = choose_precision("auto", CPU)
    assert (chosen.precision, chosen.requested, chosen.warning) == ("bf16", "auto", None)


@pytest.mark.parametrize("cpu", [ZEN3, GRAVITON2, UNREADABLE])
def test_cpus_without_native_bf16_get_fp32_even_when_checked(cpu_is, checked, cpu):
    cpu_is(cpu)
    checked("cpu")
    choice = choose_precision("auto", CPU)
    assert choice.precision == "fp32" and choice.warning is None
    assert "no native bfloat16" in choice.reason or "could not be read" in choice.reason


def test_explicit_bf16_without_native_support_warns_with_the_reason(cpu_is):
    cpu_is(ZEN3)
    choice = choose_precision("bf16", CPU)
    assert choice.precision == "bf16"
    assert choice.warning is not None and "avx512_bf16 or amx_bf16" in choice.warning
    assert choice.describe() == choice.warning
    cpu_is(SAPPHIRE)
    native = choose_precision("bf16", CPU)
    assert native.warning is None and native.describe().startswith("precision bf16 (as asked")


def test_explicit_fp32_is_kept_without_looking(monkeypatch):
    monkeypatch.setattr(hardware, "cpu_info", lambda: pytest.fail("fp32 needs no detection"))
    assert choose_precision("fp32", CPU).as_dict() == {
        "requested": "fp32",
        "precision": "fp32",
        "reason": "as asked",
        "warning": None,
    }


@pytest.mark.parametrize(
    ("capability", "bf16", "native"), [((9, 0), True, True), ((8, 0), True, True), ((7, 5), False, False)]
)
def test_cuda_needs_compute_capability_8_and_bf16_tensor_cores(gpu_is, checked, capability, bf16, native):
    gpu_is(capability, bf16)
    assert choose_precision("auto", CUDA).precision == "fp32"  # not checked yet
    checked("cuda")
    choice = choose_precision("auto", CUDA)
    assert choice.precision == ("bf16" if native else "fp32")
    assert "Fake GPU" in choice.reason and ".".join(map(str, capability)) in choice.reason
    assert (choose_precision("bf16", CUDA).warning is None) == native


def test_other_devices_get_fp32_and_unknown_requests_are_refused(checked):
    checked("mps")
    assert choose_precision("auto", MPS).precision == "fp32"
    with pytest.raises(ValueError, match="auto, fp32 or bf16"):
        choose_precision("fp16", CPU)


def test_machine_summary_names_the_cpu_and_its_flags(cpu_is):
    cpu_is(ZEN3)
    summary = hardware.machine_summary(CPU)
    assert summary["cpu_model"] == "AMD EPYC 7B13" and summary["device"] == "cpu"
    assert summary["cpu_flags"] == {
        "avx2": True,
        "avx512f": False,
        "avx512_bf16": False,
        "amx_tile": False,
        "amx_bf16": False,
    }
    assert summary["torch_threads"] == torch.get_num_threads()
