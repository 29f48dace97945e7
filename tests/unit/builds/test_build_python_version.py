"""The Python buildpack's version check (a script the stack's python3 runs)."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "buildpacks" / "python" / "lib" / "python_version.py"
spec = importlib.util.spec_from_file_location("pier_python_version", SCRIPT)
python_version = importlib.util.module_from_spec(spec)
spec.loader.exec_module(python_version)

STACK = (3, 11, 2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.11\n", (3, 11, None)),
        ("3.11.2", (3, 11, 2)),
        ("python-3.11.9\n", (3, 11, 9)),
        ("# pinned\n\n3.12.1\n", (3, 12, 1)),
        ("3", (3, None, None)),
        ("3.11.x", (3, 11, None)),
    ],
)
def test_parse_request(text, expected):
    assert python_version.parse_request(text) == expected


@pytest.mark.parametrize("text", ["", "pypy-3.10", "latest", "3.11.2.1"])
def test_parse_request_rejects_what_is_not_a_version(text):
    with pytest.raises(python_version.VersionError):
        python_version.parse_request(text)


def test_same_major_minor_is_fine():
    assert python_version.check((3, 11, None), STACK) == (True, None)
    assert python_version.check((3, 11, 2), STACK) == (True, None)


def test_patch_difference_only_warns():
    usable, message = python_version.check((3, 11, 9), STACK)
    assert usable
    assert "3.11.9" in message and "3.11.2" in message


@pytest.mark.parametrize("requested", [(3, 12, None), (3, 10, 4), (2, 7, 18)])
def test_other_major_minor_fails_naming_what_the_stack_provides(requested):
    usable, message = python_version.check(requested, STACK)
    assert not usable
    assert "provides Python 3.11.2" in message


def test_python_version_file_wins_over_runtime_txt(tmp_path):
    (tmp_path / "runtime.txt").write_text("python-3.10.1")
    (tmp_path / ".python-version").write_text("3.11")
    assert python_version.read_request(tmp_path) == (".python-version", (3, 11, None))


def test_no_version_file(tmp_path):
    assert python_version.read_request(tmp_path) is None


def test_main_exit_status(tmp_path, capsys):
    (tmp_path / "runtime.txt").write_text("python-2.7.18")
    assert python_version.main(["x", str(tmp_path)]) == 1
    assert "is not available on this stack" in capsys.readouterr().out
