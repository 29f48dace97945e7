"""The default provider: each add-on in its own container, volume and internal network."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from addons.errors import ProviderError
from addons.images import ensure_service_image
from addons.services import services
from addons.services.base import PLANS
from runtime.addons import Addons, DesiredAddon
from runtime.errors import PierRuntimeError

# A first start makes the cluster and a certificate: on a busy machine that took over 60 s.
# Provisioning runs on the worker, so nobody's request waits this long.
READY_TIMEOUT_SECONDS = 300.0


def engine() -> Addons:
    return Addons(labels={"pier.platform": settings.PIER_PLATFORM_ID},
                  isolate_host=not settings.PIER_UNSAFE_NO_ISOLATION)


def desired(addon) -> DesiredAddon:
    service = services()[addon.service]
    return service.desired(addon_id=addon.id.hex, name=addon.name,
                           credentials=addon.credentials, plan=PLANS[addon.plan])


def network(addon) -> str:
    """The network an app attached to the add-on joins."""
    return desired(addon).resource


class ContainerProvider:
    def __init__(self, addons: Addons | None = None) -> None:
        self.addons = addons or engine()

    def credentials(self, service) -> dict[str, str]:
        return service.credentials()

    def address(self, addon) -> tuple[str, int]:
        """Where apps reach it: its name, on its own network."""
        return addon.name, services()[addon.service].port

    def url(self, addon) -> str:
        host, port = self.address(addon)
        return services()[addon.service].url(credentials=addon.credentials, host=host, port=port)

    def provision(self, addon) -> None:
        """Start the add-on's container, wait until it takes clients, set its credentials."""
        ensure_service_image(addon.service)
        self._run(lambda: self.addons.ensure(desired(addon)))
        self.apply_credentials(addon)

    def apply_credentials(self, addon) -> None:
        service = services()[addon.service]
        target = desired(addon)
        ready = service.ready_command(credentials=addon.credentials)
        self._run(lambda: self.addons.wait_until(target, ready, READY_TIMEOUT_SECONDS))
        for argv in service.setup_commands(credentials=addon.credentials):
            self._check(addon, self._run(lambda a=argv: self.addons.exec(target, a)))

    def rotate(self, addon) -> None:
        if services()[addon.service].recreate_to_rotate():
            self._run(lambda: self.addons.recreate(desired(addon)))
        self.apply_credentials(addon)

    def destroy(self, addon) -> None:
        self._run(lambda: self.addons.remove(desired(addon)))

    def dump(self, addon, path: Path) -> None:
        service = services()[addon.service]
        with path.open("wb") as out:
            result = self._run(lambda: self.addons.exec(
                desired(addon), service.dump_command(credentials=addon.credentials), stdout=out))
        self._check(addon, result)

    def restore(self, addon, path: Path) -> None:
        service = services()[addon.service]
        target = desired(addon)
        inside = self._run(lambda: self.addons.put_file(target, path, "/tmp"))
        try:
            argv = service.restore_command(credentials=addon.credentials, path=inside)
            self._check(addon, self._run(lambda: self.addons.exec(target, argv)))
        finally:
            self._run(lambda: self.addons.exec(target, ["rm", "-f", inside]))

    def query_info(self, addon) -> list[str]:
        service = services()[addon.service]
        argv = service.info_command(credentials=addon.credentials)
        code, output = self._run(lambda: self.addons.exec(desired(addon), argv))
        self._check(addon, (code, output))
        return output.strip().split("|")

    @staticmethod
    def _run(step):
        try:
            return step()
        except PierRuntimeError as e:  # the engine is down, refused, or cannot isolate
            raise ProviderError(str(e)) from e

    @staticmethod
    def _check(addon, result: tuple[int, str]) -> None:
        code, output = result
        if code != 0:
            raise ProviderError(f"{addon.name}: exit status {code}: {output.strip()[-500:]}")
