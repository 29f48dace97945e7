import pytest

from api.errors import Invalid
from api.validation import (
    validate_app_name,
    validate_config_vars,
    validate_hostname,
    validate_quantity,
    validate_size,
)


@pytest.mark.parametrize("name", ["myapp", "my-app-2", "ab", "a" * 30])
def test_valid_app_names(name):
    assert validate_app_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "MyApp",
        "a",
        "a" * 31,
        "1app",
        "-app",
        "app-",
        "my--app",
        "../etc",
        "my_app",
        "my.app",
        "",
        "app/x",
        None,
        42,
    ],
)
def test_invalid_app_names(name):
    with pytest.raises(Invalid, match="invalid app name"):
        validate_app_name(name)


def test_config_values_are_kept_exactly():
    changes = {"A": "line1\nline2", "B": "ünïcødé ✓", "C": "", "D": None, "_X1": "=a=b="}
    assert validate_config_vars(changes) == changes


@pytest.mark.parametrize("key", ["1ABC", "A-B", "A B", "", "Ä"])
def test_invalid_config_keys(key):
    with pytest.raises(Invalid, match="invalid config var name"):
        validate_config_vars({key: "x"})


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"PORT": "1"}, "set by Pier"),
        ({"A": 1}, "must be a string"),
        ({"A": "a\x00b"}, "NUL"),
        ({"A": "x" * 40000}, "longer than"),
        ({}, "non-empty"),
        (["A"], "non-empty"),
    ],
)
def test_invalid_config_values(changes, message):
    with pytest.raises(Invalid, match=message):
        validate_config_vars(changes)


def test_hostnames_are_normalised():
    assert validate_hostname("WWW.Example.TEST.") == "www.example.test"


@pytest.mark.parametrize(
    "host", ["localhost", "-a.example.com", "a..b", "a b.com", "x" * 64 + ".com"]
)
def test_invalid_hostnames(host):
    with pytest.raises(Invalid, match="invalid domain"):
        validate_hostname(host)


@pytest.mark.parametrize("quantity", [-1, 101, "2", 1.5, True, None])
def test_invalid_quantities(quantity):
    with pytest.raises(Invalid, match="quantity"):
        validate_quantity(quantity, 100)


def test_sizes():
    assert validate_size("large").memory_mb == 1024
    with pytest.raises(Invalid, match="sizes: small, standard, large, xlarge"):
        validate_size("huge")
