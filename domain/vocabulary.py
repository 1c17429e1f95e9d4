"""A closed vocabulary of the business (party kinds, termination reasons, ...):
a tuple of its words that also says what it is called and what it means, so
that whoever describes the ledger (the API document) takes both from here."""

from __future__ import annotations


class Vocabulary(tuple[str, ...]):
    """``Vocabulary("PartyKind", "What a party is.", ("carrier", ...))`` is the tuple of its words."""

    name: str
    meaning: str

    def __new__(cls, name: str, meaning: str, words: tuple[str, ...]) -> "Vocabulary":
        vocabulary = super().__new__(cls, words)
        vocabulary.name = name
        vocabulary.meaning = meaning
        return vocabulary

    def __getnewargs__(self) -> tuple[str, str, tuple[str, ...]]:  # copy and pickle keep name and meaning
        return self.name, self.meaning, tuple(self)
