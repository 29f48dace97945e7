"""A certificate upload must not smuggle commands into HAProxy's runtime API.

Certificates reach HAProxy as a ``set ssl cert <file> <<`` payload, which ends at the
first empty line: any text after one would run as runtime-API commands (``shutdown
sessions``, ``add map``...). Only re-encoded PEM blocks are stored and sent.
"""

import pytest

from api.models import Certificate
from runtime.errors import RouterUnavailable
from runtime.router.haproxy_paths import Paths
from runtime.router.haproxy_tls import Challenges
from tests.integration.cli.test_cli_certs import make_cert

INJECTED = "\n\nshutdown sessions server app_other/w1\nadd map /tmp/x evil value\n\n"


def test_text_around_pem_blocks_never_reaches_the_router(api, tmp_path):
    api.post("/api/apps", {"name": "myapp"}, format="json")
    crt, key = make_cert(tmp_path, "good", ["myapp.localhost"])
    chain = open(crt).read()
    key_pem = open(key).read()
    answer = api.post("/api/apps/myapp/certs",
                      {"certificate": chain + INJECTED, "key": INJECTED + key_pem + INJECTED},
                      format="json")
    assert answer.status_code == 201, answer.json()
    bundle = Certificate.objects.get().bundle
    assert "shutdown" not in bundle and "add map" not in bundle and "\n\n" not in bundle


@pytest.mark.parametrize("token", ["a b", "a;shutdown sessions", "a\nshow info", ""])
def test_acme_tokens_cannot_carry_runtime_api_commands(tmp_path, token):
    sent = []
    challenges = Challenges(Paths(tmp_path), sent.append)
    with pytest.raises(RouterUnavailable, match="not an ACME token"):
        challenges.add(token, "key.auth")
    with pytest.raises(RouterUnavailable, match="not an ACME token"):
        challenges.add("token", f"key.{token or ' '}")
    assert sent == []
