"""The build container: where buildpacks compile an app, on the stack's build image."""

import io
import os
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import docker
from docker.errors import APIError, NotFound
from docker.types import Mount

from .confinement import BuildLimits
from .errors import BuildFailed, BuildTimedOut

BUILD_DIR = "/app"
CACHE_DIR = "/cache"
ENV_DIR = "/env"
OUT_DIR = "/tmp/pier-out"
BUILDPACKS_MOUNT = "/pier/buildpacks"
CA_MOUNT = "/etc/pier/ca-bundle.crt"
CA_VARIABLES = (
    "SSL_CERT_FILE",
    "PIP_CERT",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "CURL_CA_BUNDLE",
    "GIT_SSL_CAINFO",
)
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")


def proxy_env_from(environ: dict[str, str]) -> dict[str, str]:
    """Return the proxy settings of environ, under both spellings tools look for."""
    found = {}
    for name in PROXY_VARIABLES:
        value = environ.get(name) or environ.get(name.lower())
        if value:
            found[name] = found[name.lower()] = value
    return found


def default_ca_bundle() -> Path | None:
    """Return the host's CA bundle (SSL_CERT_FILE) when it names a file."""
    value = os.environ.get("SSL_CERT_FILE", "")
    return Path(value) if value and Path(value).is_file() else None


def tar_of_files(
    files: dict[str, bytes],
    mode: int = 0o644,
    *,
    owner: int = 0,
    dirs: dict[str, int] | None = None,
) -> bytes:
    """Return an uncompressed tar holding dirs {name: mode}, then files {name: content}."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, dir_mode in (dirs or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, dir_mode, int(time.time())
            info.uid = info.gid = owner
            tar.addfile(info)
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), mode, int(time.time())
            info.uid = info.gid = owner
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def tar_of_dir(source_dir: Path, *, arcname: str = ".", owner: int = 0) -> io.BufferedRandom:
    """Return a temporary file holding source_dir as a tar, as arcname, files owned by owner.

    Docker extracts a tar with the owners it names: the names decide who may write the files.
    """
    git = f"{arcname}/.git"

    def entry(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if info.name == git or info.name.startswith(git + "/"):
            return None
        info.uid = info.gid = owner
        info.uname = info.gname = "root" if owner == 0 else ""
        return info

    spool = tempfile.TemporaryFile()
    with tarfile.open(fileobj=spool, mode="w") as tar:
        tar.add(str(source_dir), arcname=arcname, filter=entry)
    spool.seek(0)
    return spool


class LineSplitter:
    """Turn byte chunks into complete text lines (a pending partial line is kept)."""

    def __init__(self, emit: Callable[[str], None]):
        self._emit = emit
        self._pending = b""

    def feed(self, chunk: bytes) -> None:
        self._pending += chunk
        *lines, self._pending = self._pending.split(b"\n")
        for line in lines:
            self._emit_line(line)

    def close(self) -> None:
        if self._pending:
            self._emit_line(self._pending)
        self._pending = b""

    def _emit_line(self, raw: bytes) -> None:
        # A progress bar redraws with \r: keep only what the terminal would show last.
        text = raw.decode("utf-8", "replace").rstrip("\r").rsplit("\r", 1)[-1]
        self._emit(text)


class BuildContainer:
    """A build container for one build, removed on exit from the `with` block."""

    def __init__(
        self,
        client: docker.DockerClient,
        *,
        image: str,
        command: list[str],
        environment: dict[str, str],
        mounts: list[Mount],
        labels: dict[str, str],
        limits: BuildLimits,
        network: str,
    ):
        """Create the container: a non-root user, no privileges, limits, network."""
        self._client = client
        self.container = client.containers.create(
            image,
            command=command,
            environment=environment,
            mounts=mounts,
            labels=labels,
            working_dir=BUILD_DIR,
            network=network,
            detach=True,
            **limits.container_options(),
        )

    def __enter__(self) -> "BuildContainer":
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            self.container.remove(force=True, v=True)
        except NotFound:
            pass

    def put(self, path: str, data: bytes | io.IOBase) -> None:
        if not self.container.put_archive(path, data):
            raise BuildFailed(f"Could not copy files into the build container at {path}")

    def run(
        self, *, log: Callable[[str], None], timeout: float, limit: float | None = None
    ) -> int:
        """Start the container, pass each output line to log, return its exit status.

        A container still running after timeout seconds is killed: BuildTimedOut, naming the
        build's whole time limit (limit; timeout when not given) rather than what was left.
        """
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            try:
                self.container.kill()
            except (APIError, NotFound):
                pass  # it ended just now

        timer = threading.Timer(max(timeout, 0.0), kill)
        timer.daemon = True
        self.container.start()
        timer.start()
        try:
            splitter = LineSplitter(log)
            for chunk in self.container.logs(stream=True, follow=True):
                splitter.feed(chunk)
            splitter.close()
            status = self.container.wait()["StatusCode"]
        finally:
            timer.cancel()
        if timed_out.is_set():
            raise BuildTimedOut(
                f"The build ran longer than its time limit of {limit or timeout:.0f} s and was "
                "stopped."
            )
        return status

    def out_of_memory(self) -> bool:
        """Whether the kernel killed a process of the build for going over its memory limit."""
        self.container.reload()
        return bool(self.container.attrs["State"].get("OOMKilled"))

    def read_file(self, path: str) -> bytes | None:
        """Return the content of a file in the container, or None when it is missing."""
        try:
            stream, _ = self.container.get_archive(path)
        except NotFound:
            return None
        with tarfile.open(fileobj=IterStream(stream), mode="r|") as tar:
            for member in tar:
                extracted = tar.extractfile(member)
                return extracted.read() if extracted else None
        return None

    def export(self, path: str) -> Iterator[bytes]:
        """Return the tar stream of path (names start with its last component)."""
        stream, _ = self.container.get_archive(path)
        return stream


class IterStream(io.RawIOBase):
    """A readable file over an iterator of byte chunks (for tarfile's stream mode)."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = iter(chunks)
        self._buffer = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._buffer:
            try:
                self._buffer = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size
