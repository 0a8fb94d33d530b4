import io

from calc.cli import main


def test_one_shot_expression():
    out = io.StringIO()
    assert main(["1", "+", "2"], stdout=out) == 0
    assert out.getvalue() == "3\n"


def test_lines_from_stdin_keep_variables():
    out = io.StringIO()
    assert main([], stdin=io.StringIO("x = 2\nx * 10\n"), stdout=out) == 0
    assert out.getvalue() == "2\n20\n"


def test_errors_set_exit_status():
    out = io.StringIO()
    assert main(["1 / 0"], stdout=out) == 1
    assert out.getvalue() == "error: division by zero\n"
