"""The HAProxy router's pure parts: slot sizing, the state parser, the host map, log copying."""

import io
import os

from runtime.router.base import Route
from runtime.router.haproxy import Slot, copy_lines, parse_servers_state, render_hosts, slots_for

# What HAProxy 2.6 prints for `show servers state`.
HEADER = (
    "be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
    "srv_iweight srv_time_since_last_change srv_check_status srv_check_result "
    "srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id "
    "srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr "
    "srv_agent_port"
)
STATE = f"""1
# {HEADER}
3 app_a 1 w1 172.18.0.5 2 4 1 1 8 6 3 1 6 0 0 0 unset.invalid 5000 - 0 0 - - 0
3 app_a 2 w2 172.18.0.6 0 5 1 1 0 6 3 0 14 0 0 0 unset.invalid 5000 - 0 0 - - 0
4 app_b 1 w1 0.0.0.0 0 5 1 1 0 1 0 0 14 0 0 0 unset.invalid 1 - 0 0 - - 0
"""


def test_slots_grow_by_doubling_and_never_shrink():
    assert slots_for(0) == 8 and slots_for(3) == 8 and slots_for(9) == 16
    assert slots_for(20, current=8) == 32
    assert slots_for(2, current=16) == 16  # shrinking would be a reload for nothing


def test_servers_state_in_and_out_of_rotation():
    assert parse_servers_state(STATE) == {
        "app_a": [Slot("w1", "172.18.0.5:5000"), Slot("w2", None)],
        "app_b": [Slot("w1", None)],
    }
    assert parse_servers_state("No such backend.\n") == {}


def test_host_map_lowercases_every_host():
    routes = [Route("b", ["b.localhost"]), Route("a", ["a.localhost", "WWW.Example.test"])]
    assert render_hosts(routes) == "a.localhost a\nwww.example.test a\nb.localhost b\n"


def test_copy_lines_keeps_whole_lines_and_rotates(tmp_path):
    path = str(tmp_path / "access.log")
    read, write = os.pipe()
    os.write(write, b"{1}\n{tw")
    os.write(write, b"o}\n{" + b"x" * 50 + b"}\n{last-partial")
    os.close(write)
    copy_lines(read, path, max_bytes=20)
    os.close(read)
    assert open(path + ".1", "rb").read() == b"{1}\n{two}\n{" + b"x" * 50 + b"}\n"
    assert open(path, "rb").read() == b"{last-partial"


def test_copy_lines_sends_haproxy_notices_elsewhere(tmp_path):
    path, notices = str(tmp_path / "access.log"), io.BytesIO()
    read, write = os.pipe()
    os.write(write, b'[NOTICE] (1) : New worker (2) forked\n'
                    b'{"a":1}\nProxy pier stopped (cumulated conns: FE: 5).\n{"b":2}\n\n')
    os.close(write)
    copy_lines(read, path, notices=notices)
    os.close(read)
    assert open(path, "rb").read() == b'{"a":1}\n{"b":2}\n'
    assert notices.getvalue() == (b"[NOTICE] (1) : New worker (2) forked\n"
                                  b"Proxy pier stopped (cumulated conns: FE: 5).\n\n")
