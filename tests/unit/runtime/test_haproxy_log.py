import socket

from runtime.router.haproxy_log import RotatingFile, _read, _Session


def test_rotating_file_appends_and_rotates(tmp_path):
    path = str(tmp_path / "access.log")
    out = RotatingFile(path, max_bytes=20)
    out.write(b"one\ntwo\n")
    out.write(b"x" * 50 + b"\n")
    out.write(b"after\n")
    out.close()
    assert open(path + ".1", "rb").read() == b"one\ntwo\n" + b"x" * 50 + b"\n"
    assert open(path, "rb").read() == b"after\n"


def test_a_session_names_its_worker_and_yields_whole_json_lines():
    ours, haproxy = socket.socketpair()
    ours.setblocking(False)
    session = _Session(ours, wanted="42")
    haproxy.sendall(b"Name: HAProxy\nPid: 42\nUptime: 0d\n")
    assert _read(session) == (b"", False) and session.pid == ""
    haproxy.sendall(b"\n{\"a\":1}\n{\"b\"")  # show info's answer ends with an empty line
    assert _read(session) == (b'{"a":1}\n', False) and session.pid == "42"
    haproxy.sendall(b":2}\nProxy pier stopped (cumulated conns: FE: 6, BE: 0).\n\n")
    haproxy.close()
    assert _read(session) == (b'{"b":2}\n', True)
    ours.close()
