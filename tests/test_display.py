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


def test_display_shows_one_bar_per_stage_and_a_done_line_only_for_finished_stages():
    from staticvec.cli.display import Display
    from staticvec.reporting import Stage

    stream = io.StringIO()
    display = Display(stream=stream, interval=0.0)
    with Stage(display, "counting words", 100, unit="bytes", interval=0.0) as stage:
        stage.update(50)
    try:
        with Stage(display, "skip-gram", 10, interval=0.0) as stage:
            stage.update(5, epoch="1/2")
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        display.close()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("counting words:") and "bytes/s" in lines[0]
    assert [line for line in lines if "done in" in line] == \
        [line for line in lines if line.startswith("counting words: done in")]
    assert len([line for line in lines if "done in" in line]) == 1
    assert any(line.startswith("skip-gram:") and "epoch 1/2" in line for line in lines)


def test_quiet_display_shows_nothing():
    from staticvec.cli.display import Display

    stream = io.StringIO()
    display = Display(quiet=True, stream=stream, interval=0.0)
    display("training", 5, 10)
    display("training", 10, 10, final=True)
    assert stream.getvalue() == ""


def test_log_lines_are_todays_stderr_lines(capsys):
    import logging

    from staticvec.cli.display import LogLines

    handler = LogLines()
    logger = logging.getLogger("staticvec.test_display")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        for quiet in (False, True):
            handler.quiet = quiet
            logger.debug("debug")
            logger.info("summary")
            logger.warning("about the result")
            logger.error("never: errors are raised")
    finally:
        logger.removeHandler(handler)
    assert capsys.readouterr().err == ("summary\nstaticvec: warning: about the result\n"
                                       "staticvec: warning: about the result\n")
