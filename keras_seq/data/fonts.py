"""Finding fonts and checking which characters they cover."""

import functools
import logging
import os
import shutil
import subprocess

import matplotlib
from fontTools.ttLib import TTFont

logger = logging.getLogger(__name__)

FONT_EXTENSIONS = (".ttf", ".otf", ".ttc")

# DejaVu faces bundled with matplotlib. The "Display" faces hold only a few
# glyphs and are left out.
_DEFAULT_FONT_NAMES = tuple(
    f"DejaVu{family}{face}.ttf"
    for family in ("Sans", "Serif", "SansMono")
    for face in (
        ("", "-Bold", "-Oblique", "-BoldOblique")
        if family != "Serif"
        else ("", "-Bold", "-Italic", "-BoldItalic")
    )
)

_SYSTEM_FONT_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.fonts",
    "~/.local/share/fonts",
    "/Library/Fonts",
    "/System/Library/Fonts",
    "~/Library/Fonts",
    "C:/Windows/Fonts",
)


def default_fonts():
    """The 12 DejaVu faces bundled with matplotlib (Sans, Serif, Sans Mono).

    The same files ship in every matplotlib wheel, so text rendered with
    them looks the same on every machine.

    Returns:
        list of str, absolute paths of the font files.
    """
    folder = os.path.join(matplotlib.get_data_path(), "fonts", "ttf")
    paths = [os.path.join(folder, name) for name in _DEFAULT_FONT_NAMES]
    missing = [path for path in paths if not os.path.isfile(path)]
    if missing:
        raise FileNotFoundError(
            f"matplotlib's bundled DejaVu fonts are missing: {missing}"
        )
    return paths


def find_fonts(folder):
    """Every font file (.ttf, .otf, .ttc) under `folder`, recursively.

    Args:
        folder: path of a folder.

    Returns:
        sorted list of str paths.
    """
    folder = os.path.expanduser(os.fspath(folder))
    if not os.path.isdir(folder):
        raise ValueError(f"Not a folder of fonts. Received: {folder!r}")
    paths = []
    for root, _, files in os.walk(folder):
        for name in files:
            if name.lower().endswith(FONT_EXTENSIONS):
                paths.append(os.path.join(root, name))
    return sorted(paths)


def system_fonts():
    """The fonts installed on this machine.

    Asks `fc-list` when it exists, otherwise looks in the usual font
    folders of Linux, macOS and Windows.

    Returns:
        sorted list of str paths; empty if none are found.
    """
    paths = set()
    if shutil.which("fc-list"):
        try:
            result = subprocess.run(
                ["fc-list", "--format", "%{file}\n"],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            )
            paths.update(
                line.strip()
                for line in result.stdout.splitlines()
                if line.strip().lower().endswith(FONT_EXTENSIONS)
            )
        except (OSError, subprocess.SubprocessError) as e:
            logger.warning("fc-list failed (%s); searching folders.", e)
    if not paths:
        for folder in _SYSTEM_FONT_DIRS:
            folder = os.path.expanduser(folder)
            if os.path.isdir(folder):
                paths.update(find_fonts(folder))
    return sorted(p for p in paths if os.path.isfile(p))


@functools.lru_cache(maxsize=1024)
def font_family(path):
    """The family name in the font's name table ("" when it has none).

    The typographic family (name ID 16) when present, else the legacy
    family (ID 1): "Noto Sans" for NotoSans-CondensedBold.ttf.
    """
    try:
        with TTFont(path, fontNumber=0, lazy=True) as font:
            names = font["name"]
            for name_id in (16, 1):
                record = names.getDebugName(name_id)
                if record:
                    return record
    except Exception as e:  # An unreadable file has no family to report.
        logger.warning("Could not read the name table of %s: %s", path, e)
    return ""


def font_matches(path, patterns):
    """Whether `path`'s file name or family contains one of `patterns`.

    Case-insensitive substrings: `font_matches(p, ["liberation"])` is true
    for LiberationSerif-Bold.ttf.
    """
    haystacks = (os.path.basename(path).lower(), font_family(path).lower())
    return any(
        pattern.lower() in haystack
        for pattern in patterns
        for haystack in haystacks
    )


@functools.lru_cache(maxsize=1024)
def font_codepoints(path):
    """The set of code points that `path`'s character map covers.

    Reads the font's best Unicode cmap with fontTools (the first face of a
    .ttc collection).

    Args:
        path: path of a font file.

    Returns:
        frozenset of int code points.
    """
    with TTFont(path, fontNumber=0, lazy=True) as font:
        cmap = font.getBestCmap() or {}
    return frozenset(cmap)


def missing_characters(path, text):
    """The sorted characters of `text` that the font at `path` lacks.

    Whitespace is never reported missing: it renders as blank space.
    """
    codepoints = font_codepoints(path)
    return sorted(
        set(c for c in text if not c.isspace() and ord(c) not in codepoints)
    )
