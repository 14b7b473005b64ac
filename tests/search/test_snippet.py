"""The snippet: escaped text around the first match, matched words marked."""

from chat_server.search.snippet import SNIPPET_LENGTH, snippet


def test_the_matched_prefix_is_marked_in_its_word() -> None:
    assert snippet("Привет, как дела?", ["прив"]) == "<mark>Прив</mark>ет, как дела?"
    assert snippet("Deployment done", ["deploy"]) == "<mark>Deploy</mark>ment done"


def test_every_matched_word_is_marked_and_the_longest_query_word_wins() -> None:
    marked = snippet("Friday deploy is done, deploying again", ["de", "deploy", "friday"])
    assert marked == "<mark>Friday</mark> <mark>deploy</mark> is done, <mark>deploy</mark>ing again"


def test_everything_but_the_marks_is_escaped() -> None:
    text = '<script>alert("x")</script> & <b>bold</b> script'
    marked = snippet(text, ["script"])
    assert marked == (
        "&lt;<mark>script</mark>&gt;alert(&quot;x&quot;)&lt;/<mark>script</mark>&gt; "
        "&amp; &lt;b&gt;bold&lt;/b&gt; <mark>script</mark>"
    )
    assert "<script" not in marked and "<b>" not in marked


def test_a_long_text_is_cut_around_the_first_match_with_ellipses() -> None:
    text = " ".join(["filler"] * 60) + " the needle is here " + " ".join(["more"] * 60)
    marked = snippet(text, ["needle"])
    assert marked.startswith("…") and marked.endswith("…")
    assert "<mark>needle</mark>" in marked
    visible = marked.replace("<mark>", "").replace("</mark>", "").strip("…")
    assert len(visible) <= SNIPPET_LENGTH
    assert visible in text


def test_a_word_that_changes_length_when_lower_cased_is_marked_whole() -> None:
    # "İ".lower() is two characters; the mark must still cover real characters only.
    assert snippet("İstanbul trip", ["i̇st"]) == "<mark>İstanbul</mark> trip"
