"""The configuration breathsync gives liblsl to keep its log off the terminal (no network: liblsl is not
started here; tests/lsl/test_liblsl_quiet.py runs it): the user's own configuration file, the one liblsl
would read, word for word, with a log level added only where it sets none, and nothing given at all where
liblsl should read and report the file itself."""

from __future__ import annotations

import types
from pathlib import Path

import pytest

import breathsync.sources.lsl as lsl_mod
from breathsync.sources.lsl import LIBLSL_LOG_LEVEL, liblsl_config

LEVEL = f"[log]\nlevel = {LIBLSL_LOG_LEVEL}\n"


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(working folder, home), both empty; LSLAPICFG unset."""
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("LSLAPICFG", raising=False)
    return work, home


def test_liblsls_order_of_places(places: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    _, home = places
    assert lsl_mod._liblsl_config_files() == [
        "lsl_api.cfg",
        str(home / "lsl_api" / "lsl_api.cfg"),
        "/etc/lsl_api/lsl_api.cfg",
    ]
    monkeypatch.setenv("LSLAPICFG", "/somewhere/mine.cfg")
    assert lsl_mod._liblsl_config_files()[0] == "/somewhere/mine.cfg"


def test_no_file_anywhere_gives_the_level_alone(
    places: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (/etc/lsl_api/lsl_api.cfg of the machine running the tests is left out of it)
    monkeypatch.setattr(lsl_mod, "_liblsl_config_files", lambda: [str(tmp_path / "none.cfg")])
    assert liblsl_config() == LEVEL


@pytest.mark.parametrize(
    "text",
    [
        "[lab]\nKnownPeers = {10.0.0.2}\n",
        "[lab]\nKnownPeers = {10.0.0.2}",  # no newline at its end
        "[lab]\r\nKnownPeers = {10.0.0.2}\r\n",  # Windows line ends
        "[log]\n;level = 0\n",  # a level commented out
        "[tuning]\nlevel = 3\n",  # a "level" of another section
        "",
    ],
)
def test_the_users_file_word_for_word_plus_the_level(
    text: str, places: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = tmp_path / "mine.cfg"
    mine.write_bytes(text.encode())
    monkeypatch.setenv("LSLAPICFG", str(mine))
    got = liblsl_config()
    assert got is not None and got.startswith(text) and got.endswith(LEVEL)
    assert got[len(text) :] in (LEVEL, "\n" + LEVEL)


@pytest.mark.parametrize(
    "text",
    [
        "[log]\nlevel = 0\n",  # the user's level: theirs
        "[log]\r\n  level\t= 2\r\n",
        "[log]\nfile = liblsl.log\n",  # a log file of theirs: liblsl writes it at its own level
        "[lab]\nKnownPeers\n",  # a line liblsl cannot parse: it reports the file itself
        "[lab\nKnownPeers = {x}\n",
    ],
)
def test_a_file_that_sets_the_log_or_would_not_parse_is_left_to_liblsl(
    text: str, places: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = tmp_path / "mine.cfg"
    mine.write_text(text, encoding="utf-8")
    monkeypatch.setenv("LSLAPICFG", str(mine))
    assert liblsl_config() is None


def test_an_lslapicfg_that_cannot_be_read_is_left_to_liblsl(
    places: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work, _ = places
    (work / "lsl_api.cfg").write_text("[lab]\nSessionID = x\n", encoding="utf-8")
    monkeypatch.setenv("LSLAPICFG", str(tmp_path / "missing.cfg"))
    assert liblsl_config() is None  # liblsl says "LSLAPICFG file ... not found"
    monkeypatch.setenv("LSLAPICFG", str(tmp_path))  # a folder
    assert liblsl_config() is None
    bad = tmp_path / "latin1.cfg"
    bad.write_bytes(b"[lab]\nSessionID = caf\xe9\n")
    monkeypatch.setenv("LSLAPICFG", str(bad))
    assert liblsl_config() is None


def test_the_working_folder_before_home(places: tuple[Path, Path]) -> None:
    work, home = places
    (home / "lsl_api").mkdir()
    (home / "lsl_api" / "lsl_api.cfg").write_text("[lab]\nSessionID = home\n", encoding="utf-8")
    assert liblsl_config() == "[lab]\nSessionID = home\n" + LEVEL
    (work / "lsl_api.cfg").write_text("[lab]\nSessionID = here\n", encoding="utf-8")
    assert liblsl_config() == "[lab]\nSessionID = here\n" + LEVEL


def test_given_once_and_never_an_error(
    places: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lsl_mod, "_liblsl_config_files", lambda: [str(tmp_path / "none.cfg")])
    given: list[str] = []
    fake = types.ModuleType("pylsl")
    fake.set_config_content = given.append  # type: ignore[attr-defined]
    monkeypatch.setattr(lsl_mod, "_liblsl_configured", False)
    lsl_mod._quiet_liblsl(fake)
    lsl_mod._quiet_liblsl(fake)
    assert given == [LEVEL]

    def too_old(content: str) -> None:  # pylsl on a liblsl before 1.17.7
        raise NotImplementedError("lsl_set_config_content is not available in your liblsl version")

    older = types.ModuleType("pylsl")
    older.set_config_content = too_old  # type: ignore[attr-defined]
    monkeypatch.setattr(lsl_mod, "_liblsl_configured", False)
    lsl_mod._quiet_liblsl(older)  # nothing to do about it: liblsl logs as before
    monkeypatch.setattr(lsl_mod, "_liblsl_configured", False)
    lsl_mod._quiet_liblsl(types.ModuleType("pylsl"))  # an older pylsl without the function
