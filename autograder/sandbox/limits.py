"""Resource limits for sandboxed student code, and how they map to rlimits and the env."""

from __future__ import annotations

from dataclasses import dataclass

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB


@dataclass(frozen=True)
class Limits:
    """What one sandbox may use. Times are seconds, sizes bytes.

    Attributes:
        call_timeout: wall-clock limit of one call (``Sandbox.call`` may override it).
        import_timeout: wall-clock limit for importing the student's module once.
        cpu_seconds: CPU time of one call's process (RLIMIT_CPU; a backstop for the wall clock).
        memory_bytes: address space of the child (RLIMIT_AS); numpy + OpenBLAS need ~0.2 GiB.
        gpu_data_bytes: in a GPU sandbox, the data segment (RLIMIT_DATA) instead of the address
            space: CUDA reserves tens of GiB of address space it never touches, which RLIMIT_AS
            would refuse, and the driver's own host allocations come on top of the student's.
        gpu_memory_bytes: device memory CuPy's memory pool may hold in a GPU sandbox.
        max_processes: processes and threads of the student's uid (RLIMIT_NPROC; enforced only
            for a non-root uid, hence the uid drop when the grader runs as root).
        file_bytes: largest file the child may write (RLIMIT_FSIZE).
        open_files: open file descriptors (RLIMIT_NOFILE).
        scratch_bytes: size of the writable scratch folder when it is a private tmpfs.
        output_bytes: stdout + stderr kept per call; the rest is read and dropped.
        result_bytes: largest result (arrays included) accepted from the child.
        grading_result_bytes: all results accepted from the child over the sandbox's life (one
            grading) together; past it every call fails at once. A correct submission sends
            back well under 1 MiB in a whole grading, so the grader's memory stays bounded
            whatever a submission returns.
        threads: OPENBLAS/OMP/MKL thread count in the child.
    """

    call_timeout: float = 10.0
    import_timeout: float = 10.0
    cpu_seconds: int = 60
    memory_bytes: int = 2 * GiB
    gpu_data_bytes: int = 8 * GiB
    gpu_memory_bytes: int = 4 * GiB
    max_processes: int = 64
    file_bytes: int = 64 * MiB
    open_files: int = 64
    scratch_bytes: int = 64 * MiB
    output_bytes: int = 64 * KiB
    result_bytes: int = 64 * MiB
    grading_result_bytes: int = 256 * MiB
    threads: int = 1

    def __post_init__(self) -> None:
        for name in ("call_timeout", "import_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Limits.{name} must be positive")
        for name in (
            "cpu_seconds",
            "memory_bytes",
            "gpu_data_bytes",
            "gpu_memory_bytes",
            "max_processes",
            "file_bytes",
            "open_files",
            "scratch_bytes",
            "output_bytes",
            "result_bytes",
            "grading_result_bytes",
            "threads",
        ):
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise ValueError(f"Limits.{name} must be a positive int")
        if self.open_files < 16:
            raise ValueError("Limits.open_files must be at least 16 (the child needs a few)")

    def rlimits(self, gpu: bool = False) -> dict[str, int]:
        """``{RLIMIT name: value}`` applied (soft = hard) to the child before student code."""
        memory = {"RLIMIT_DATA": self.gpu_data_bytes} if gpu else {"RLIMIT_AS": self.memory_bytes}
        return {
            **memory,
            "RLIMIT_NPROC": self.max_processes,
            "RLIMIT_FSIZE": self.file_bytes,
            "RLIMIT_NOFILE": self.open_files,
            "RLIMIT_CORE": 0,
        }

    def thread_env(self) -> dict[str, str]:
        """Environment variables that pin the numeric libraries' thread pools."""
        n = str(self.threads)
        return {
            "OPENBLAS_NUM_THREADS": n,
            "OMP_NUM_THREADS": n,
            "MKL_NUM_THREADS": n,
            "NUMEXPR_NUM_THREADS": n,
            "VECLIB_MAXIMUM_THREADS": n,
        }

    @property
    def memory_text(self) -> str:
        """The memory limit in words (``"2 GiB"``)."""
        return human_bytes(self.memory_bytes)


def human_bytes(count: int) -> str:
    """``2147483648`` -> ``"2 GiB"``, ``65536`` -> ``"64 KiB"``."""
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if count >= size:
            value = count / size
            return f"{value:.3g} {unit}"
    return f"{count} bytes"
