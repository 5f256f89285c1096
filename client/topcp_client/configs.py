"""Which YAML file is which TopCP level, and offline validation of the set.

The shared validator (``topcp_codegen.validation``) keys its input by the *canonical* file names
``reco.yaml``/``particle.yaml``/``parton.yaml`` because that is what the bundle and runTop_el.py
use. Users name their files freely (``my_reco.yaml``), so this module maps their paths onto the
canonical keys for validation and maps the errors back, so every message points at the file the
user actually edits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from topcp_codegen.validation.errors import ConfigError

LEVELS: tuple[str, ...] = ("reco", "particle", "parton")


class UsageError(ValueError):
    """The command line or API call itself is wrong (not the YAML content): exit code 2."""


def canonical_name(level: str) -> str:
    """The file name a level has inside the bundle (``reco`` -> ``reco.yaml``)."""
    return f"{level}.yaml"


def assign_levels(
    positional: Iterable[Path] = (),
    *,
    reco: Path | None = None,
    particle: Path | None = None,
    parton: Path | None = None,
    on_note: Callable[[str], None] | None = None,
) -> dict[str, Path]:
    """Decide the level of every config file: explicit options win, else ``levels.choose_level``
    (the file name, else the blocks it holds, else reco); ``on_note`` hears how a level was
    chosen when not from the name.

    Raises ``UsageError`` for two files claiming one level and when no file is given at all.
    """
    from .levels import choose_level

    levels: dict[str, Path] = {}
    for level, path in (("reco", reco), ("particle", particle), ("parton", parton)):
        if path is not None:
            levels[level] = Path(path)
    for path in positional:
        path = Path(path)
        try:
            text: str | None = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = None  # read_configs reports it, with the reason
        choice = choose_level(path, text)
        level = choice.level
        if level in levels and levels[level] != path:
            raise UsageError(
                f"two {level}-level configs given: {levels[level]} and {path}; pass only one"
                + ("" if choice.source == "name" else
                   f" (the level of {path} was guessed: name it with --reco/--particle/--parton)")
            )
        if choice.note and on_note is not None:
            on_note(choice.note)
        levels[level] = path
    if not levels:
        raise UsageError("no config file given; pass at least a reco.yaml (or --reco FILE)")
    return levels


def read_configs(levels: Mapping[str, Path]) -> dict[str, str]:
    """Read each level's YAML text, with a usage error naming the file when it cannot be read."""
    texts: dict[str, str] = {}
    for level, path in levels.items():
        try:
            texts[level] = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError(f"{path}: no such file ({level}-level config)") from None
        except IsADirectoryError:
            raise UsageError(f"{path}: is a folder, expected a {level}-level YAML file") from None
        except UnicodeDecodeError as exc:
            raise UsageError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except OSError as exc:
            raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    return texts


def validate_texts(
    texts: Mapping[str, str],
    *,
    display_names: Mapping[str, str] | None = None,
    release: str | None = None,
    strict: bool | None = None,
) -> list[ConfigError]:
    """Run the shared validator on level -> YAML text; errors name ``display_names[level]``.

    Imported lazily: the validator is another component, and ``topcp-sx --help`` must work
    (and say something useful) even if it is broken.
    """
    from topcp_codegen.validation import validate as _validate

    by_file = {canonical_name(level): text for level, text in texts.items()}
    errors = _validate(by_file, release=release, strict=strict)
    names = {canonical_name(level): (display_names or {}).get(level) for level in texts}
    out = []
    for err in errors:
        shown = names.get(err.file)
        out.append(dataclasses.replace(err, file=shown) if shown else err)
    return out


def validate_files(levels: Mapping[str, Path], *, release: str | None = None,
                   strict: bool | None = None) -> list[ConfigError]:
    """Read and validate config files given as level -> path; errors name the user's paths.

    ``strict``: report warnings (what our data cannot verify) as errors.
    """
    texts = read_configs(levels)
    return validate_texts(
        texts, display_names={lvl: str(p) for lvl, p in levels.items()}, release=release,
        strict=strict,
    )


def only_errors(problems: Iterable[ConfigError]) -> list[ConfigError]:
    """Drop warnings: they are printed, but never block a run."""
    return [p for p in problems if p.severity == "error"]
