import io

from staticvec.cli.display import Progress


def test_plain_mode_writes_lines_never_carriage_returns():
    stream = io.StringIO()
    with Progress("training", 100, unit="words", stream=stream, interval=0.0) as progress:
        for done in range(0, 101, 25):
            progress.update(done, epoch=1, alpha=0.025)
    text = stream.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert len(lines) >= 5
    assert lines[0].startswith("training:") and "words/s" in lines[0] and "alpha 0.025" in lines[0]
    assert "done in" in lines[-1]


def test_quiet_prints_nothing():
    stream = io.StringIO()
    with Progress("training", 10, stream=stream, quiet=True, interval=0.0) as progress:
        progress.update(10)
        progress.log("hello")
    assert stream.getvalue() == ""


def test_terminal_mode_draws_a_rich_bar():
    stream = io.StringIO()
    with Progress("training", 10, stream=stream, force_terminal=True) as progress:
        progress.update(5, epoch=2)
    assert "training" in stream.getvalue() and "epoch 2" in stream.getvalue()
