"""The real docker CLI against Pier's registry, each user with a config dir of their own."""

import subprocess
from pathlib import Path


class DockerUser:
    """A user's docker CLI, logged in to Pier's registry with their API token."""

    def __init__(self, address: str, token: str, config: Path):
        self.address, self.config = address, config
        config.mkdir(parents=True, exist_ok=True)
        self.login = self.run("login", address, "-u", "me", "--password-stdin", stdin=token)

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", "--config", str(self.config), *args], input=stdin,
                              capture_output=True, text=True, timeout=180)

    def push(self, image: str, reference: str) -> subprocess.CompletedProcess:
        """Tag local ``image`` as ``address/reference`` and push it."""
        target = f"{self.address}/{reference}"
        self.run("tag", image, target)
        return self.run("push", target)

    def pull(self, reference: str) -> subprocess.CompletedProcess:
        return self.run("pull", f"{self.address}/{reference}")
