"""The "Fields changed" table printed by the ``changes_table`` tag (history feed, object history)."""

from django.template import Context, Template


def _render(changes) -> str:
    return Template("{% load portal %}{% changes_table changes %}").render(Context({"changes": changes}))


def test_values_are_escaped_and_shown_before_and_after():
    html = _render([{"field": "title", "old": "<b>old</b>", "new": "new & better", "words": []}])
    assert "<th scope=\"row\" class=\"fw-semibold text-body-secondary ps-0 text-nowrap\">Title</th>" in html
    assert '<del class="text-danger-emphasis">&lt;b&gt;old&lt;/b&gt;</del>' in html
    assert '<ins class="text-success-emphasis">new &amp; better</ins>' in html
    assert "<b>" not in html


def test_a_word_diff_marks_removed_and_added_words():
    words = [{"op": "eq", "text": "keep"}, {"op": "del", "text": "gone"}, {"op": "ins", "text": "<new>"}]
    html = _render([{"field": "summary", "old": "keep gone", "new": "keep <new>", "words": words}])
    assert (
        '<td colspan="2" class="word-diff">keep <del class="text-danger-emphasis">gone</del> '
        '<ins class="text-success-emphasis">&lt;new&gt;</ins> </td>'
    ) in html
