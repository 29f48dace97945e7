"""Where Pier's registry lives in the data dir and the config file Pier writes for it."""

import json
from dataclasses import dataclass
from pathlib import Path

from registry.keys import ISSUER, key_paths


@dataclass(frozen=True)
class RegistrySetup:
    address: str  # host:port users and engines reach it at (PIER_REGISTRY)
    listen: str  # host:port the registry process listens on
    directory: Path  # $PIER_DATA_DIR/registry
    realm: str  # the token endpoint's URL on the control plane

    @property
    def storage(self) -> Path:
        return self.directory / "storage"

    @property
    def config_file(self) -> Path:
        return self.directory / "config.yml"

    def repository_dir(self, name: str) -> Path:
        """The on-disk directory of repository ``name`` (the filesystem driver's layout)."""
        return self.storage / "docker" / "registry" / "v2" / "repositories" / name


def config_write(setup: RegistrySetup, *, read_only: bool = False) -> Path:
    """Write the registry's config: token auth by Pier, storage in the data dir, deletes on.

    No blob descriptor cache: a repository removed from disk (a destroyed app's) must stop
    serving at once, which a cache would not notice.
    """
    _, cert = key_paths(setup.directory)
    config = {
        "version": 0.1,
        "log": {"level": "info", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(setup.storage)},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": True, "age": "168h",
                                              "interval": "24h", "dryrun": False},
                            "readonly": {"enabled": read_only}},
        },
        "http": {"addr": setup.listen, "headers": {"X-Content-Type-Options": ["nosniff"]}},
        "auth": {"token": {"realm": setup.realm, "service": setup.address, "issuer": ISSUER,
                           "rootcertbundle": str(cert)}},
    }
    setup.config_file.write_text(json.dumps(config, indent=2))  # JSON is YAML
    return setup.config_file


def registry_setup() -> RegistrySetup | None:
    """Return the registry's setup from the settings, or None when PIER_REGISTRY is unset."""
    from django.conf import settings

    if not settings.PIER_REGISTRY:
        return None
    port = settings.PIER_REGISTRY.rpartition(":")[2]
    return RegistrySetup(
        address=settings.PIER_REGISTRY,
        listen=settings.PIER_REGISTRY_BIND or f"0.0.0.0:{port}",
        directory=settings.PIER_DATA_DIR / "registry",
        realm=f"{settings.PIER_PUBLIC_URL}/api/registry/token",
    )
