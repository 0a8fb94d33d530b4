import pytest

from daterange import format_range, parse_range


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-03-03..2024-03-07", "3–7 Mar 2024"),
        ("2024-02-28..2024-03-02", "28 Feb – 2 Mar 2024"),
        ("2023-12-30..2024-01-02", "30 Dec 2023 – 2 Jan 2024"),
        ("2024-05-01", "1 May 2024"),
    ],
)
def test_format(text, expected):
    assert format_range(parse_range(text)) == expected


def test_month():
    assert len(parse_range("2023-02")) == 28


@pytest.mark.parametrize("text", ["2024-13", "2024-02-30", "soon"])
def test_bad_input(text):
    with pytest.raises(ValueError):
        parse_range(text)
