"""The ``contractledger`` command's help, read from its parsers: every
command and subcommand says what it does, what each argument means and the
exit status it returns, in plain words a user reads (no reStructuredText,
no references to issues or to the rulebook's sections), and ``--help`` answers from
the parser alone."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

import pytest

from contractledger.runtime import command_line

NOT_PLAIN_WORDS = {
    "a reStructuredText backtick": re.compile("`"),
    "a reference to an issue": re.compile(r"\bissues? \d", re.IGNORECASE),
    "a reference to the rulebook": re.compile(r"\bSPEC\b|rules §"),
}


def parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """The parser and, depth first, those of its subcommands."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from parsers(child)


def every_parser() -> list[argparse.ArgumentParser]:
    found = [command_line.parser()]
    for subcommand in command_line.SUBCOMMANDS:
        found += list(parsers(subcommand.load().parser()))
    return found


def argument_helps(parser: argparse.ArgumentParser) -> Iterator[tuple[str, str | None]]:
    """Each argument's name and help; a subcommand's name and help count as arguments."""
    for action in parser._actions:
        name = "/".join(action.option_strings) or action.metavar or action.dest
        yield str(name), action.help
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                yield f"{name} {choice.dest}", choice.help


def test_every_subcommand_is_the_command_of_its_own_module_and_named_by_its_parser() -> None:
    for subcommand in command_line.SUBCOMMANDS:
        module = subcommand.load()
        assert callable(module.main), subcommand.name
        assert module.parser().prog == f"contractledger {subcommand.name}"


def test_every_argument_of_every_command_has_help_in_plain_words_and_every_command_lists_its_exit_status() -> None:
    wrong = []
    for parser in every_parser():
        if parser.prog == "contractledger":
            lists_exits = "exit status:" in (parser.epilog or "")
        else:
            lists_exits = re.search(r"exit status:\n(  .*\n?)+", parser.epilog or "") is not None
        if not (parser.description or "").strip():
            wrong.append(f"{parser.prog}: no description")
        if not lists_exits:
            wrong.append(f"{parser.prog}: its epilog does not list its exit status")
        texts = [("description", parser.description), ("epilog", parser.epilog)]
        for name, text in argument_helps(parser):
            if not text or text == argparse.SUPPRESS or not text.strip():
                wrong.append(f"{parser.prog}: {name} has no help")
            texts.append((name, text))
        for where, text in texts:
            for what, pattern in NOT_PLAIN_WORDS.items():
                if text and pattern.search(text):
                    wrong.append(f"{parser.prog}: {where} holds {what}: {text!r}")
    assert wrong == []


def test_the_walk_finds_every_command_and_its_actions() -> None:
    """A positive control for the walk above: it reaches the nested actions too."""
    progs = {parser.prog for parser in every_parser()}
    assert {
        "contractledger", "contractledger serve", "contractledger tokens", "contractledger tokens issue",
        "contractledger tokens list", "contractledger tokens revoke", "contractledger verify-ledger",
        "contractledger export-history", "contractledger rebuild-views", "contractledger reconcile",
        "contractledger sync-deliver", "contractledger sync-deliver run", "contractledger sync-deliver dead-letters",
        "contractledger sync-deliver replay", "contractledger sync-deliver resume", "contractledger race-loop",
    } == progs


def help_invocations() -> list[list[str]]:
    found = []
    for parser in every_parser():
        found.append(parser.prog.split()[1:])
    return found


def squeezed(text: str) -> str:
    """Without its white space: the help formatter wraps lines, at hyphens too."""
    return "".join(text.split())


@pytest.mark.parametrize("words", help_invocations(), ids=lambda words: " ".join(words) or "contractledger")
def test_help_prints_the_usage_and_every_arguments_help_and_exits_0(
    words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        command_line.main([*words, "--help"])
    assert stopped.value.code == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"usage: {' '.join(['contractledger', *words])} ")
    parser = next(p for p in every_parser() if p.prog.split()[1:] == words)
    for name, text in argument_helps(parser):
        assert squeezed(str(text)) in squeezed(printed), name
