import io

from slugkit.cli import main


def test_prints_one_slug_per_argument():
    out = io.StringIO()
    assert main(["Hello World", "Grüße"], stdout=out) == 0
    assert out.getvalue() == "hello-world\ngruesse\n"


def test_options():
    out = io.StringIO()
    main(["The quick brown fox", "--max-length", "12", "--word-boundary"], stdout=out)
    assert out.getvalue() == "the-quick\n"
