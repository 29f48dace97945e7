"""How the Swarm backend reads the engine's objects: task states, addresses, names."""

import re

from runtime.backends.swarm import (
    MAX_SERVICE_NAME,
    Backend,
    availability,
    image_of,
    node_address,
    published_address,
    task_state,
)
from runtime.desired import DesiredApp

READY = {"Status": {"State": "ready", "Addr": "10.0.0.12"}, "Spec": {"Availability": "active"}}
DOWN = {"Status": {"State": "down", "Addr": "10.0.0.13"}}


def test_task_states_map_to_process_states():
    assert task_state("pending", READY) == "starting"
    assert task_state("preparing", READY) == "starting"
    assert task_state("running", READY) == "up"
    for ended in ("complete", "failed", "rejected", "shutdown", "orphaned"):
        assert task_state(ended, READY) == "crashed"


def test_a_running_task_on_a_node_that_is_down_has_crashed():
    assert task_state("running", DOWN) == "crashed"


def test_the_address_is_the_node_s_with_the_port_published_for_port():
    status = {"PortStatus": {"Ports": [
        {"TargetPort": 9000, "PublishedPort": 30001},
        {"TargetPort": 5000, "PublishedPort": 32768, "PublishMode": "host"}]}}
    assert published_address(READY, status, 5000) == "10.0.0.12:32768"
    assert published_address(READY, {}, 5000) is None  # not published (yet)


def test_a_manager_reporting_0_0_0_0_is_reached_at_its_advertised_address():
    manager = {"Status": {"Addr": "0.0.0.0"}, "ManagerStatus": {"Addr": "10.0.0.11:2377"}}
    assert node_address(manager) == "10.0.0.11"


def test_availability_defaults_to_active():
    assert availability({}) == "active"
    assert availability({"Spec": {"Availability": "pause"}}) == "pause"


def test_service_names_are_unique_dns_labels_even_for_long_names():
    backend = Backend(name_prefix="pier-test-12345678-")
    app = DesiredApp(name="a" * 30, release=12345, image="x", id="0f" * 16)
    names = {backend.service_name(app, "worker_long-type.123") for _ in range(50)}
    assert len(names) == 50
    short = backend.service_name(DesiredApp(name="ab", release=1, image="x"), "my_job.2")
    assert short.startswith("pier-test-12345678-ab-v1-my-job-2-")
    names.add(short)
    for name in names:
        assert len(name) <= MAX_SERVICE_NAME
        assert re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]", name), name


def test_nodes_run_the_image_pushed_to_the_registry_when_there_is_one():
    local = DesiredApp(name="myapp", release=2, image="pier/abc:1")
    pushed = DesiredApp(name="myapp", release=2, image="pier/abc:1",
                        image_ref="127.0.0.1:5000/myapp@sha256:" + "0" * 64)
    assert image_of(local) == "pier/abc:1"
    assert image_of(pushed) == pushed.image_ref
