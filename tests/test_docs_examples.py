"""The documentation's offline examples print what the documentation says they print.

Every ``$ kubectl kserve-mn ...`` line of a console block in README.md and docs/*.md that reads no cluster
is run, and its output and exit code compared with the block (scripts/docs_examples.py; ``--update``
rewrites the blocks after an intended change of output)."""

from __future__ import annotations

from tests.fixture_files import load_script


def test_every_offline_example_in_the_docs_prints_what_the_docs_show() -> None:
    docs_examples = load_script("docs_examples")
    found = [ex for doc in docs_examples.DOCS for ex in docs_examples.examples(doc) if ex.offline]
    assert len(found) >= 8  # the README's quick start and checks, docs/check-example.md's runs
    assert docs_examples.main([]) == 0
