import click
import pytest

from cli.commands.config import parse_assignment
from cli.commands.ps import Scale, parse_scale, scale_updates
from cli.errors import CliError
from cli.gitremote import app_from_url


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("KEY=value", ("KEY", "value")),
        ("DATABASE_URL=postgres://u:p@h/db?sslmode=require&a=b", None),
        ("EMPTY=", ("EMPTY", "")),
        ("SPACES=a b  c", ("SPACES", "a b  c")),
        ("MULTI=line1\nline2", ("MULTI", "line1\nline2")),
    ],
)
def test_parse_assignment_splits_at_first_equals(arg, expected):
    key, value = parse_assignment(arg)
    assert (key, value) == (expected or (arg.split("=", 1)[0], arg.split("=", 1)[1]))
    assert f"{key}={value}" == arg


@pytest.mark.parametrize("arg", ["NOEQUALS", "=value", ""])
def test_parse_assignment_rejects_args_without_a_key(arg):
    with pytest.raises(click.BadParameter):
        parse_assignment(arg)


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("web=2", Scale("web", quantity=2)),
        ("web=0", Scale("web", quantity=0)),
        ("web=2:large", Scale("web", quantity=2, size="large")),
        ("WEB=2:Large", Scale("web", quantity=2, size="large")),
        ("web=xlarge", Scale("web", size="xlarge")),
        ("web+1", Scale("web", delta=1)),
        ("web-1", Scale("web", delta=-1)),
        ("web+10", Scale("web", delta=10)),
        ("my-worker=3", Scale("my-worker", quantity=3)),
        ("my-worker-2", Scale("my-worker", delta=-2)),
        ("clock_1=1", Scale("clock_1", quantity=1)),
    ],
)
def test_parse_scale(arg, expected):
    assert parse_scale(arg) == expected


@pytest.mark.parametrize("arg", ["web", "web=", "web=-1", "=2", "web=2:", "2=web", "web*2"])
def test_parse_scale_rejects_malformed(arg):
    with pytest.raises(click.BadParameter):
        parse_scale(arg)


def test_scale_updates_resolves_relative_changes_against_formation():
    formation = [{"type": "web", "quantity": 2}, {"type": "worker", "quantity": 0}]
    scales = [Scale("web", delta=1), Scale("worker", quantity=3, size="large")]
    assert scale_updates(scales, formation) == [
        {"type": "web", "quantity": 3},
        {"type": "worker", "quantity": 3, "size": "large"},
    ]


def test_scale_updates_refuses_to_go_below_zero_or_unknown_types():
    with pytest.raises(CliError, match="below 0"):
        scale_updates([Scale("web", delta=-2)], [{"type": "web", "quantity": 1}])
    with pytest.raises(CliError, match="no process type 'clock'"):
        scale_updates([Scale("clock", delta=1)], [{"type": "web", "quantity": 1}])


@pytest.mark.parametrize(
    ("url", "app"),
    [
        ("http://127.0.0.1:5000/my-app.git", "my-app"),
        ("https://pier.example.com/base/path/demo.git/", "demo"),
        ("http://x:pier_token@localhost:5000/demo.git", "demo"),
        ("git@github.com:someone/demo.git", "demo"),
        ("http://127.0.0.1:5000/my-app", None),
        ("http://127.0.0.1:5000/Not_An_App.git", None),
    ],
)
def test_app_from_url(url, app):
    assert app_from_url(url) == app
