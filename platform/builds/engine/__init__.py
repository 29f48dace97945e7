"""Pier's build engine: app source in, app image out. Plain Python and the Docker SDK.

build_image(app=..., build_id=..., source_dir=..., env=..., image_tag=..., log=...,
            timeout=..., limits=BuildLimits(...)) -> BuildResult
ensure_stack_images(progress=print)
"""

from .build import DEPENDENCY_LAYERS_LABEL, BuildResult, build_image, default_cache_volume
from .confinement import BuildLimits, IsolationUnavailable
from .errors import BuildFailed, BuildTimedOut, NoBuildpackDetected, StackMissing
from .stack import BUILD_IMAGE, RUN_IMAGE, ensure_stack_images

__all__ = [
    "DEPENDENCY_LAYERS_LABEL",
    "BUILD_IMAGE",
    "RUN_IMAGE",
    "BuildFailed",
    "BuildLimits",
    "BuildResult",
    "BuildTimedOut",
    "IsolationUnavailable",
    "NoBuildpackDetected",
    "StackMissing",
    "build_image",
    "default_cache_volume",
    "ensure_stack_images",
]
