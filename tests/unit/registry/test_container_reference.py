"""Which image references `container:release` takes: the app's own repository, tag or digest."""

from types import SimpleNamespace

import pytest

from api.errors import Invalid
from registry.releases import _reference_parse

APP = SimpleNamespace(name="myapp")
ADDRESS = "pier.example.test:5050"
DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(("image", "expected"), [
    ("myapp:1.2", ("myapp", "1.2")),
    (f"{ADDRESS}/myapp:latest", ("myapp", "latest")),
    (f"myapp@{DIGEST}", ("myapp", DIGEST)),
])
def test_takes_a_tag_or_digest_of_the_apps_repository(image, expected):
    assert _reference_parse(image=image, app=APP, address=ADDRESS) == expected


@pytest.mark.parametrize(("image", "message"), [
    ("otherapp:1.2", "is not myapp's"),
    ("myapp", "use myapp:TAG or myapp@sha256:DIGEST"),
    ("elsewhere.io/myapp:1", "use myapp:TAG"),
    ("myapp:1;rm -rf", "use myapp:TAG"),
    ("myapp@sha256:short", "use myapp:TAG"),
])
def test_refuses_anything_else_saying_what_to_use(image, message):
    with pytest.raises(Invalid, match=message):
        _reference_parse(image=image, app=APP, address=ADDRESS)
