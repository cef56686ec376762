"""tests/conftest.py: each xdist worker's TensorFlow gets its share of the cores."""

import os

from conftest import share_the_cores


def test_a_worker_gets_the_cores_divided_among_the_workers():
    cores = os.cpu_count() or 1
    environment = {
        "PYTEST_XDIST_WORKER_COUNT": str(cores + 2)
    }  # what `make test` starts
    assert share_the_cores(environment) == 1
    assert (
        environment["TF_NUM_INTRAOP_THREADS"]
        == environment["TF_NUM_INTEROP_THREADS"]
        == "1"
    )
    environment = {"PYTEST_XDIST_WORKER_COUNT": "1"}
    assert share_the_cores(environment) == cores
    assert environment["TF_NUM_INTRAOP_THREADS"] == str(cores)


def test_the_user_s_choice_and_a_run_without_workers_are_left_alone():
    environment = {
        "PYTEST_XDIST_WORKER_COUNT": "4",
        "TF_NUM_INTRAOP_THREADS": "3",
        "TF_NUM_INTEROP_THREADS": "2",
    }
    share_the_cores(environment)
    assert (
        environment["TF_NUM_INTRAOP_THREADS"] == "3"
        and environment["TF_NUM_INTEROP_THREADS"] == "2"
    )
    environment = {}
    assert share_the_cores(environment) is None
    assert environment == {}
