"""The images add-on containers run: built by buildpacks/services/build.sh from the stack."""

import subprocess
from pathlib import Path

from addons.errors import ProviderError

SCRIPT = Path(__file__).resolve().parents[2] / "buildpacks" / "services" / "build.sh"


def ensure_service_image(service: str) -> None:
    """Build pier/service-<service> unless it is up to date (a second when it is)."""
    done = subprocess.run(["bash", str(SCRIPT), service], capture_output=True, text=True,
                          errors="replace")
    if done.returncode != 0:
        raise ProviderError(f"the {service} image could not be built ({SCRIPT} {service}): "
                            f"{(done.stderr or done.stdout).strip()[-500:]}")
