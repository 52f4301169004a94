"""No clip, portrait or dataset names in runtime code (`reenact/`, `plugins/`).

A constant tuned on a named clip surprises the next face; its figures belong in a dated note
under `docs/experiments/`, and tests may name clips freely. The names are read from the shared
media itself (file stems, their numbered families, the people and data sets SOURCES.md names),
so a clip added there is caught without editing this test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNTIME = ("reenact", "plugins")

# Data sets that occur in this project's docs, configs or code, or that face work commonly
# names; matched as whole words, case-insensitive.
DATASETS = (
    "Yale",
    "HDTF",
    r"VoxCeleb\d?",
    r"CK\+",
    "CKplus",
    "Cohn-Kanade",
    "RaFD",
    "RAVDESS",
    "FFHQ",
    r"CelebA(?:-HQ)?",
    r"CelebV(?:-HQ)?",
    "AffectNet",
    "KDEF",
    "JAFFE",
    "Multi-PIE",
    "LFW",
    "300-?W",
    "WFLW",
    "AFLW",
    r"LRS\d",
    "LRW",
    "CREMA-D",
    "DISFA",
    "BP4D",
    r"Aff-Wild\d?",
    "MPIIGaze",
    r"FaceForensics(?:\+\+)?",
)
# Short or ordinary-word data set names, matched in capitals only ("mug", "mead" are words).
DATASETS_CASED = ("MUG", "MEAD")
# Tokens of clip stems that are ordinary words (or a still's condition label, which the stills
# readers must name): never names on their own, only inside a whole stem.
ORDINARY = {
    "clip",
    "driving",
    "emotion",
    "face",
    "nice",
    "orig",
    "people",
    "pose",
    "radio",
    "short",
    "smirk",
    "source",
    "style",
    "temple",
    "person",
    "readme",
    "happy",
    "sad",
    "normal",
    "glasses",
    "noglasses",
    "sleepy",
    "surprised",
    "wink",
    "leftlight",
    "rightlight",
    "centerlight",
    "hamilton",  # also the quaternion product's name
}
IDENT = r"(?<![A-Za-z0-9_]){}(?![A-Za-z0-9_])"
WORD = r"(?<![A-Za-z0-9]){}(?![A-Za-z0-9])"


def stems(media: Path) -> set[str]:
    """Every file stem under clips/, expressions/ and portraits/ (lower case)."""
    return {
        p.stem.lower()
        for folder in ("clips", "expressions", "portraits")
        for p in (media / folder).iterdir()
        if p.is_file()
    }


def source_names(media: Path) -> set[str]:
    """People and pictures SOURCES.md names beside the clips (capitalised phrases it lists)."""
    text = (media / "SOURCES.md").read_text(encoding="utf-8")
    found = set()
    for phrase in (
        "Mona Lisa",
        "Pearl Earring",
        "Kristi Noem",
        "Andrew Ng",
        "Fei-Fei Li",
        "Obama",
        "Reagan",
    ):
        if phrase in text:
            found.add(phrase)
    return found


def name_patterns(media: Path) -> list[tuple[str, re.Pattern[str]]]:
    """(label, pattern) for each name: stems as identifiers, their numbered families
    (`lp_d19` -> `lp_d<N>`), family globs (`lp_*`), distinctive stem tokens (`pcavs`,
    `obama`), SOURCES.md's people, and the data sets."""
    found: dict[str, str] = {}
    names = stems(media)
    covered = {name.lower() for name in DATASETS}
    for stem in names:
        found[stem] = IDENT.format(re.escape(stem))
        head = re.sub(r"\d+$", "", stem)
        if head != stem and "_" in head:
            found[head + "<N>"] = IDENT.format(re.escape(head) + r"\d+")
        lead = re.sub(r"^\d+_", "", stem)
        if lead != stem:
            found["<N>_" + lead] = IDENT.format(r"\d+_" + re.escape(lead))
        if "_" in stem and not stem[0].isdigit():
            family = stem.split("_", 1)[0] + "_"
            found[family + "*"] = r"(?<![A-Za-z0-9_])" + re.escape(family) + r"\*"
        for token in re.split(r"[_\d]+", stem):
            if len(token) >= 4 and token not in ORDINARY and token not in covered:
                found[token] = WORD.format(re.escape(token))
    patterns = [(label, re.compile(rx, re.IGNORECASE)) for label, rx in found.items()]
    for phrase in source_names(media):
        rx = WORD.format(r"[\s-]+".join(re.escape(w) for w in re.split(r"[\s-]+", phrase)))
        patterns.append((phrase, re.compile(rx, re.IGNORECASE)))
    patterns += [(name, re.compile(WORD.format(name), re.IGNORECASE)) for name in DATASETS]
    patterns += [(name, re.compile(WORD.format(name))) for name in DATASETS_CASED]
    return patterns


def find_names(
    files: list[Path], patterns: list[tuple[str, re.Pattern[str]]], root: Path
) -> list[str]:
    """`file:line: name: text` for every line of `files` that names a clip or data set."""
    hits = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            names = sorted({label for label, rx in patterns if rx.search(line)})
            if names:
                where = path.relative_to(root).as_posix()
                hits.append(f"{where}:{number}: {', '.join(names)}: {line.strip()[:100]}")
    return hits


def runtime_files() -> list[Path]:
    return sorted(p for top in RUNTIME for p in (REPO / top).rglob("*.py"))


def test_runtime_code_names_no_clip_or_dataset(media_dir: Path) -> None:
    files = runtime_files()
    assert len(files) > 50, f"found only {len(files)} runtime .py files under {RUNTIME}"
    hits = find_names(files, name_patterns(media_dir), REPO)
    for hit in hits:
        print(hit)
    assert not hits, (
        f"{len(hits)} lines in {len({h.split(':', 1)[0] for h in hits})} runtime files name a "
        "clip or data set; keep one sentence of why and move the figures to a note under "
        "docs/experiments/:\n" + "\n".join(hits)
    )


@pytest.mark.parametrize(
    "planted",
    [
        "# tuned on lp_drv_d19's yawn",
        "x = 0.3  # pcavs_00010 at a yaw",
        "(lp_d4, a new one)",
        "scored on Yale 14",
        "the CK+ protocol",
        "see hdtf_* clips",
        "a MUG sequence",
        "02_surprised.png",
        "styletalk_obama_clip9",
        "the Obama clip",
    ],
)
def test_planted_name_is_caught(media_dir: Path, tmp_path: Path, planted: str) -> None:
    path = tmp_path / "module.py"
    path.write_text(f'"""A module."""\n\nVALUE = 1\n{planted}\n', encoding="utf-8")
    hits = find_names([path], name_patterns(media_dir), tmp_path)
    assert [h.split(":", 2)[:2] for h in hits] == [["module.py", "4"]]


@pytest.mark.parametrize(
    "ordinary",
    [
        "# a wink closes one eye",
        "the near temple drags the hairline",
        "a happy mouth",
        "lp = lowpass(x)",
        "a mug of tea",
        "a surprised brow",
        "face_crop = crop(face)",
        "help_text = 'smirk'",
        "mead is a drink",
    ],
)
def test_ordinary_words_are_not_names(media_dir: Path, tmp_path: Path, ordinary: str) -> None:
    path = tmp_path / "module.py"
    path.write_text(ordinary + "\n", encoding="utf-8")
    assert find_names([path], name_patterns(media_dir), tmp_path) == []
