"""convviz_ref.progress: a live bar on a terminal, one final line anywhere else."""

import io

from convviz_ref.progress import progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_off_a_terminal_a_bar_writes_one_line_when_it_ends():
    log = io.StringIO()
    for _ in progress(range(47), file=log, desc="layers", unit="layer"):
        pass
    assert "\r" not in log.getvalue()
    lines = log.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("layers: 100%")
    assert "47/47" in lines[0]


def test_a_bar_updated_by_hand_ends_with_its_count_and_postfix():
    log = io.StringIO()
    bar = progress(total=3, file=log, desc="epochs", unit="epoch")
    for loss in (0.5, 0.25, 0.125):
        bar.set_postfix(loss=f"{loss:.3f}")
        bar.update(1)
    assert log.getvalue() == ""  # nothing until it ends
    bar.close()
    assert log.getvalue().count("\n") == 1
    assert "3/3" in log.getvalue() and "loss=0.125" in log.getvalue()


def test_a_disabled_bar_writes_nothing():
    log = io.StringIO()
    assert list(progress(range(3), file=log, disable=True)) == [0, 1, 2]
    assert log.getvalue() == ""


def test_on_a_terminal_the_bar_is_drawn_as_it_goes():
    screen = Terminal()
    for _ in progress(range(3), file=screen, desc="filters", mininterval=0):
        pass
    assert screen.getvalue().count("\r") >= 2  # redrawn in place
    assert "3/3" in screen.getvalue()
