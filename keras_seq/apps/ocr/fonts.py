"""Font sets for training the OCR model on generated lines.

`"dejavu"`: the 12 DejaVu faces bundled with matplotlib, the same on
every machine (the default, and what `make demo` uses). `"wide"`: 40
more families from Debian font packages (`WIDE_FONT_PACKAGES`; install
them with `apt-get install`), sans, serif, slab, monospaced, condensed and
italic, plus DejaVu's three: 43 in all. The OCR quality benchmark trains
on this set and reads fonts it never saw (benchmarks/RESULTS.md, "OCR
quality vs Tesseract").
"""

import fnmatch
import os

from keras_seq.apps.ocr.defaults import FONT_SETS
from keras_seq.data import default_fonts, system_fonts

# The "wide" set: Debian packages, and the faces of them used (file name
# patterns; regular, bold, italic and condensed faces, no hairline or
# black weights, no symbol or non-Latin faces). Left out on purpose, so
# that they can test fonts never trained on: Liberation and croscore
# (Arimo, Tinos, Cousine: Liberation 2), GNU FreeFont, and its sources
# URW base35 and TeX Gyre.
WIDE_FONT_PACKAGES = (
    "fonts-noto-core fonts-noto-mono fonts-open-sans fonts-lato "
    "fonts-roboto-unhinted fonts-roboto-slab fonts-cantarell "
    "fonts-crosextra-carlito fonts-crosextra-caladea fonts-linuxlibertine "
    "fonts-ebgaramond fonts-sil-gentiumplus fonts-sil-charis fonts-stix "
    "fonts-cmu fonts-go fonts-hack fonts-inconsolata fonts-jetbrains-mono "
    "fonts-anonymous-pro fonts-mononoki fonts-oxygen fonts-comic-neue "
    "fonts-courier-prime fonts-adf-baskervald fonts-adf-gillius "
    "fonts-adf-universalis fonts-adf-accanthis fonts-adf-berenis "
    "fonts-adf-libris fonts-quicksand fonts-yrsa-rasa fonts-dejavu-extra"
).split()
_STANDARD = ("Regular", "Bold", "Italic", "BoldItalic")
WIDE_FONT_FILES = (
    "NotoSans-*.ttf NotoSerif-*.ttf NotoSansMono-*.ttf Carlito-*.ttf "
    "Caladea-*.ttf GentiumPlus-*.ttf CharisSIL-*.ttf Hack-*.ttf "
    "mononoki-*.ttf Oxygen-Sans*.ttf OxygenMono-Regular.ttf "
    "Inconsolata.otf OpenSans-CondBold.ttf "
    "LinLibertine_R.otf LinLibertine_RB.otf LinLibertine_RI.otf "
    "LinLibertine_RBI.otf LinBiolinum_R.otf LinBiolinum_RB.otf "
    "LinBiolinum_RI.otf EBGaramond12-Regular.otf EBGaramond12-Bold.otf "
    "EBGaramond12-Italic.otf RobotoSlab-Regular.otf RobotoSlab-Bold.otf "
    "Cantarell-Regular.otf Cantarell-Bold.otf Quicksand-Regular.ttf "
    "Quicksand-Bold.ttf cmunrm.ttf cmunbx.ttf cmunti.ttf cmunbi.ttf "
    "cmunss.ttf cmunsx.ttf cmunsi.ttf cmuntt.ttf cmunit.ttf "
    "Go-Regular.ttf Go-Bold.ttf Go-Italic.ttf Go-Bold-Italic.ttf "
    "Go-Mono.ttf Go-Mono-Bold.ttf Go-Mono-Italic.ttf "
    "Anonymous?Pro.ttf Anonymous?Pro?B.ttf Anonymous?Pro?I.ttf "
    "Courier?Prime.otf Courier?Prime?Bold.otf Courier?Prime?Italic.otf "
    "Courier?Prime?Bold?Italic.otf BaskervaldADFStd.otf "
    "BaskervaldADFStd-Bold.otf BaskervaldADFStd-Italic.otf "
    "BaskervaldADFStd-BoldItalic.otf GilliusADF-Regular.otf "
    "GilliusADF-Bold.otf GilliusADF-Italic.otf GilliusADF-Cond.otf "
    "GilliusADF-BoldCond.otf UniversalisADFStd-Regular.otf "
    "UniversalisADFStd-Bold.otf UniversalisADFStd-Italic.otf "
    "UniversalisADFStd-Cond.otf AccanthisADFStd-Regular.otf "
    "AccanthisADFStd-Bold.otf AccanthisADFStd-Italic.otf "
    "BerenisADFPro-Regular.otf BerenisADFPro-Bold.otf "
    "BerenisADFPro-Italic.otf LibrisADFStd-Regular.otf "
    "LibrisADFStd-Bold.otf DejaVuSansCondensed.ttf "
    "DejaVuSansCondensed-Bold.ttf DejaVuSerifCondensed.ttf "
    "DejaVuSerifCondensed-Italic.ttf"
).split() + [
    f"{family}-{face}.{extension}"
    for family, extension in (
        ("OpenSans", "ttf"),
        ("Lato", "ttf"),
        ("Roboto", "ttf"),
        ("RobotoCondensed", "ttf"),
        ("JetBrainsMono", "ttf"),
        ("ComicNeue", "otf"),
        ("STIX", "otf"),
        ("Yrsa", "ttf"),
    )
    for face in _STANDARD
]


def wide_fonts(paths=None):
    """The installed faces of the "wide" set, then the DejaVu defaults.

    Args:
        paths: font files to choose from; None: the machine's fonts.

    Returns:
        list of str paths.

    Raises:
        ValueError: none of the set's faces is installed.
    """
    if paths is None:
        paths = system_fonts()
    chosen = sorted(
        {
            path
            for path in paths
            if any(
                fnmatch.fnmatchcase(os.path.basename(path), pattern)
                for pattern in WIDE_FONT_FILES
            )
        }
    )
    if not chosen:
        raise ValueError(
            "None of the wide font set is installed. Install it with "
            f"`apt-get install {' '.join(WIDE_FONT_PACKAGES)}`. Received: "
            f"{len(paths)} font files, none of them named in WIDE_FONT_FILES"
        )
    return chosen + default_fonts()


def font_set(name):
    """Renderer options of a font set: `{}` (the defaults) or `fonts`."""
    if name not in FONT_SETS:
        raise ValueError(
            f"`font_set` must be one of {FONT_SETS}. Received: {name!r}"
        )
    return {} if name == "dejavu" else {"fonts": wide_fonts()}
