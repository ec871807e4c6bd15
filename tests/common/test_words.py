import pytest

from apps.common.templatetags.portal import hours_in_words


@pytest.mark.parametrize(
    "hours,words",
    [(25 / 3600, "25 s"), (0.0, "0 s"), (14 / 60, "14 min"), (3.5, "3.5 h"), (100.8, "4.2 days"), (None, "—")],
)
def test_a_duration_reads_in_the_unit_that_fits(hours, words):
    assert hours_in_words(hours) == words
