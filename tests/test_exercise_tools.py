"""The test helpers' one retry: a kernel start that lost jupyter_client's port race, and nothing else."""

import pytest

import exercise_tools


def test_a_kernel_that_lost_the_port_race_is_started_once_more(monkeypatch):
    calls = []

    def execute(path, *, timeout):
        calls.append(path)
        if len(calls) == 1:
            raise RuntimeError(exercise_tools.KERNEL_PORT_RACE)
        return "executed"

    monkeypatch.setattr(exercise_tools, "execute", execute)
    assert exercise_tools.execute_retrying_a_lost_port_race("a.ipynb", timeout=1) == "executed"
    assert calls == ["a.ipynb", "a.ipynb"]


@pytest.mark.parametrize("failures", [["Kernel didn't respond in 60 seconds"],
                                      [exercise_tools.KERNEL_PORT_RACE, exercise_tools.KERNEL_PORT_RACE]])
def test_any_other_kernel_failure_or_a_second_lost_race_fails(monkeypatch, failures):
    remaining = list(failures)

    def execute(path, *, timeout):
        raise RuntimeError(remaining.pop(0))

    monkeypatch.setattr(exercise_tools, "execute", execute)
    with pytest.raises(RuntimeError, match=failures[-1]):
        exercise_tools.execute_retrying_a_lost_port_race("a.ipynb", timeout=1)
    assert not remaining
