"""Where a build keeps its files under PIER_DATA_DIR."""

from pathlib import Path

from django.conf import settings


def build_dir(build) -> Path:
    return build_dir_for(build.id)


def build_dir_for(build_id) -> Path:
    return settings.PIER_BUILDS_DIR / str(build_id)


def build_output_path(build) -> Path:
    return build_dir(build) / "output.log"
