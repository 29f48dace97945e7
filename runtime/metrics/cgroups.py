"""CPU and memory of a container from its cgroup files (Docker's stats API costs 1-2 s a call).

cgroup v1 (``/sys/fs/cgroup/cpuacct/docker/<id>/cpuacct.usage`` and
``/sys/fs/cgroup/memory/docker/<id>/memory.*``) and v2 (one directory,
``/sys/fs/cgroup/docker/<id>/`` with the cgroupfs driver or
``/sys/fs/cgroup/system.slice/docker-<id>.scope/`` with systemd's), found once per
container and remembered. Memory is what ``docker stats`` shows: usage minus the
inactive page cache, which the kernel drops before it kills anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# A v2 limit of "max", or a v1 limit this large, means "no limit".
UNLIMITED = 1 << 60


@dataclass(frozen=True)
class Sample:
    cpu_seconds: float  # cumulative CPU time of the container
    memory: int  # bytes in use, without inactive page cache
    limit: int | None  # bytes, None when unlimited


def _read_int(path: str) -> int | None:
    try:
        with open(path, "rb") as f:
            text = f.read().strip()
    except OSError:
        return None
    if text == b"max":
        return None
    value = int(text)
    return None if value >= UNLIMITED else value


def _stat_field(path: str, name: bytes) -> int:
    try:
        with open(path, "rb") as f:
            for line in f:
                field, _, value = line.partition(b" ")
                if field == name:
                    return int(value)
    except OSError:
        pass
    return 0


class CgroupReader:
    """Read containers' CPU and memory under ``root`` (``/sys/fs/cgroup``)."""

    def __init__(self, root: str | os.PathLike = "/sys/fs/cgroup") -> None:
        self.root = Path(root)
        self.v2 = (self.root / "cgroup.controllers").exists()
        self._dirs: dict[str, tuple[str, str]] = {}

    def read(self, container_id: str) -> Sample | None:
        """Return the container's sample, or None when it has no cgroup (not running)."""
        dirs = self._dirs.get(container_id) or self._find(container_id)
        if dirs is None:
            return None
        sample = self._read_v2(*dirs) if self.v2 else self._read_v1(*dirs)
        if sample is None:
            self._dirs.pop(container_id, None)  # gone: look again next time
        return sample

    def forget(self, keep: set[str]) -> None:
        """Drop remembered directories of containers not in ``keep``."""
        for container_id in set(self._dirs) - keep:
            del self._dirs[container_id]

    def _find(self, container_id: str) -> tuple[str, str] | None:
        if self.v2:
            candidates = [(self.root / "docker" / container_id,) * 2,
                          (self.root / "system.slice" / f"docker-{container_id}.scope",) * 2]
        else:
            cpu = [self.root / name / "docker" / container_id
                   for name in ("cpuacct", "cpu,cpuacct", "cpu")]
            memory = self.root / "memory" / "docker" / container_id
            candidates = [(c, memory) for c in cpu]
        for cpu_dir, memory_dir in candidates:
            if cpu_dir.is_dir() and memory_dir.is_dir():
                self._dirs[container_id] = (str(cpu_dir), str(memory_dir))
                return self._dirs[container_id]
        return None

    def _read_v1(self, cpu_dir: str, memory_dir: str) -> Sample | None:
        usage = _read_int(f"{cpu_dir}/cpuacct.usage")
        memory = _read_int(f"{memory_dir}/memory.usage_in_bytes")
        if usage is None or memory is None:
            return None
        cache = _stat_field(f"{memory_dir}/memory.stat", b"total_inactive_file")
        return Sample(usage / 1e9, max(0, memory - cache),
                      _read_int(f"{memory_dir}/memory.limit_in_bytes"))

    def _read_v2(self, cpu_dir: str, memory_dir: str) -> Sample | None:
        usage = _stat_field(f"{cpu_dir}/cpu.stat", b"usage_usec")
        memory = _read_int(f"{memory_dir}/memory.current")
        if memory is None:
            return None
        cache = _stat_field(f"{memory_dir}/memory.stat", b"inactive_file")
        return Sample(usage / 1e6, max(0, memory - cache), _read_int(f"{memory_dir}/memory.max"))
