"""What this machine is, which precision ``precision="auto"`` picks on it, and its allocator setting.

bfloat16 autocast pays only where the hardware runs it natively: on a CPU without AVX512-BF16
or AMX (AVX2 only, say) a bf16 matrix product is emulated, and training at batch 64 ran 18×
slower than fp32 (6.6 against 116 images/s on a Zen 3 EPYC; issue 14). So ``auto`` picks bf16
only where the hardware is native and bf16's accuracy over seeds has been checked on that kind
of device (docs/speed.md, "Precision: auto"), and fp32 everywhere else.
"""

from __future__ import annotations

import ctypes
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

# The one switch of the rule: the device kinds on which an accuracy check over seeds showed
# that bf16 autocast trains as well as fp32. ``auto`` picks bf16 only where this says True AND
# the hardware is native. Flip an entry once the multi-seed check is in docs/speed.md,
# "Precision: auto" section; a kind not listed (mps, xpu...) always gets fp32.
BF16_ACCURACY_CHECKED: dict[str, bool] = {"cpu": False, "cuda": False}

# x86 flags of native bfloat16 arithmetic, as Linux names them in /proc/cpuinfo; aarch64 says "bf16".
X86_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
ARM_BF16_FLAG = "bf16"
# The flags worth showing a user: the vector width torch can use, and native bf16.
SHOWN_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16")
CUDA_BF16_CAPABILITY = (8, 0)  # Ampere and later have bf16 tensor cores
CPUINFO = Path("/proc/cpuinfo")
# glibc's mallopt parameters (malloc.h), and what keep_freed_memory sets them to.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
HEAP_BLOCKS_UP_TO = 32 << 20  # glibc's largest mmap threshold on 64-bit systems
KEEP_FREE_HEAP = 1 << 30


@dataclass(frozen=True)
class CPUInfo:
    """A CPU's model name, its feature flags (empty where unreadable) and its architecture."""

    model: str
    flags: frozenset[str]
    machine: str

    def bf16_flags(self) -> list[str]:
        """The flags that say this CPU computes in bfloat16 natively."""
        wanted = (ARM_BF16_FLAG,) if self.machine in ("aarch64", "arm64") else X86_BF16_FLAGS
        return [flag for flag in wanted if flag in self.flags]


def cpu_info(path: Path = CPUINFO) -> CPUInfo:
    """This CPU, read from ``/proc/cpuinfo`` (Linux); elsewhere the model from ``platform`` and no flags."""
    fields: dict[str, str] = {}
    try:
        text = path.read_text(errors="replace")
    except OSError:
        text = ""
    for line in text.split("\n\n", 1)[0].splitlines():  # the first processor's block
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip().lower(), value.strip())
    flags = fields.get("flags") or fields.get("features") or ""  # x86 or aarch64
    model = fields.get("model name") or platform.processor() or platform.machine() or "unknown CPU"
    return CPUInfo(model=model, flags=frozenset(flags.split()), machine=platform.machine().lower())


def native_bf16(device: torch.device) -> tuple[bool, str]:
    """Whether ``device`` runs bfloat16 arithmetic natively, and why, in words."""
    if device.type == "cpu":
        return _cpu_native_bf16(cpu_info())
    if device.type == "cuda":
        return _cuda_native_bf16(device)
    return False, f"bf16 autocast is not picked on {device.type}"


def _cpu_native_bf16(cpu: CPUInfo) -> tuple[bool, str]:
    found = cpu.bf16_flags()
    if found:
        return True, f"this CPU has native bfloat16 ({', '.join(found)})"
    if not cpu.flags:
        return False, "this CPU's features could not be read (no /proc/cpuinfo flags), so bfloat16 may be emulated"
    wanted = ARM_BF16_FLAG if cpu.machine in ("aarch64", "arm64") else " or ".join(X86_BF16_FLAGS)
    return False, f"this CPU has no native bfloat16 (no {wanted} flag): bf16 is emulated, many times slower than fp32"


def _cuda_native_bf16(device: torch.device) -> tuple[bool, str]:
    name = torch.cuda.get_device_name(device)
    capability = torch.cuda.get_device_capability(device)
    level = ".".join(map(str, capability))
    if tuple(capability) >= CUDA_BF16_CAPABILITY and torch.cuda.is_bf16_supported(including_emulation=False):
        return True, f"{name} (compute capability {level}) has bf16 tensor cores"
    return False, f"{name} (compute capability {level}) has no bf16 tensor cores (they start at 8.0)"


@dataclass(frozen=True)
class PrecisionChoice:
    """The precision a run asked for, the one it trains in, why, and a warning when that is slow."""

    requested: str
    precision: str
    reason: str
    warning: str | None = None

    def describe(self) -> str:
        """One line for a user: the choice and its reason (or the warning, when there is one)."""
        return self.warning or f"precision {self.precision} ({self.reason})"

    def as_dict(self) -> dict[str, str | None]:
        """A JSON-ready form."""
        return asdict(self)


def choose_precision(requested: str, device: torch.device) -> PrecisionChoice:
    """Resolve ``auto``, ``fp32`` or ``bf16`` to the precision a run on ``device`` trains in."""
    if requested == "fp32":
        return PrecisionChoice(requested, "fp32", "as asked")
    native, why = native_bf16(device)
    if requested == "bf16":
        warning = None if native else f"warning: precision bf16 as asked, but {why} (auto would pick fp32 here)"
        return PrecisionChoice(requested, "bf16", f"as asked; {why}", warning)
    if requested != "auto":
        raise ValueError(f"precision must be auto, fp32 or bf16, not {requested!r}")
    if not native:
        return PrecisionChoice(requested, "fp32", f"auto: {why}")
    if not BF16_ACCURACY_CHECKED.get(device.type, False):
        return PrecisionChoice(
            requested, "fp32", f"auto: {why}, but bf16's accuracy over seeds is not yet checked on {device.type}"
        )
    return PrecisionChoice(requested, "bf16", f"auto: {why}, and bf16 matched fp32's accuracy over seeds there")


def shown_flags(cpu: CPUInfo) -> dict[str, bool]:
    """The capability flags a user cares about, each present or not."""
    names = (*SHOWN_FLAGS, ARM_BF16_FLAG) if cpu.machine in ("aarch64", "arm64") else SHOWN_FLAGS
    return {name: name in cpu.flags for name in names}


def machine_summary(device: torch.device) -> dict[str, object]:
    """The device, the CPU (model, cores, flags, torch's vector level) and torch's threads."""
    cpu = cpu_info()
    summary: dict[str, object] = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu.model,
        "cpu_model": cpu.model,
        "cpu_cores": os.cpu_count(),
        "cpu_flags": shown_flags(cpu),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    return summary


def keep_freed_memory() -> bool:
    """On glibc, serve blocks up to 32 MiB from the heap and keep freed ones there; whether it was set.

    A training step frees and allocates again the same large temporaries (D's 6272×1024 weight
    gradient of the MNIST networks is 25 MB). Left to its defaults, glibc hands such blocks back
    to the kernel, so every step faults its memory in again, page by page: about 12,000 page
    faults per fp32 step at batch 64, none with this setting. It changes no result, only where
    freed memory waits; the process keeps its peak heap instead of returning it.
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, HEAP_BLOCKS_UP_TO)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP_FREE_HEAP))
