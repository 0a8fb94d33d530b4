from slugkit import UniqueSlugger


def test_repeats_are_numbered():
    slugger = UniqueSlugger()
    assert [slugger("Post"), slugger("post"), slugger("POST!")] == ["post", "post-2", "post-3"]


def test_existing_slugs_are_avoided():
    slugger = UniqueSlugger(existing={"about"})
    assert slugger("About") == "about-2"


def test_empty_text_gets_a_placeholder():
    assert UniqueSlugger()("!!!") == "n-a"
