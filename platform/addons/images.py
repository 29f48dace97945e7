"""The images add-on containers run: built by buildpacks/services/build.sh from the stack."""

import re
import subprocess
from pathlib import Path

from addons.errors import ProviderError

SCRIPT = Path(__file__).resolve().parents[2] / "buildpacks" / "services" / "build.sh"


READY = re.compile(r"Service image ready: (?P<name>\S+):latest \((?P<hash>[0-9a-f]+)\)")


def ensure_service_image(service: str) -> str:
    """Build pier/service-<service> unless it is up to date (a second when it is).

    Return its tag of this recipe (``pier/service-postgresql:<hash>``): ``latest`` is only
    the last one built, on an engine shared with another checkout of Pier.
    """
    done = subprocess.run(["bash", str(SCRIPT), service], capture_output=True, text=True,
                          errors="replace")
    if done.returncode != 0:
        raise ProviderError(f"the {service} image could not be built ({SCRIPT} {service}): "
                            f"{(done.stderr or done.stdout).strip()[-500:]}")
    ready = READY.search(done.stdout)
    if ready is None:
        raise ProviderError(f"{SCRIPT} {service} did not say which image it made: "
                            f"{done.stdout.strip()[-300:]}")
    return f"{ready['name']}:{ready['hash']}"
