"""The OCR app's font sets."""

import pytest

from keras_seq.apps.ocr.fonts import (
    WIDE_FONT_FILES,
    WIDE_FONT_PACKAGES,
    font_set,
    wide_fonts,
)
from keras_seq.data import default_fonts


def test_wide_fonts_keeps_the_named_faces_then_dejavu():
    installed = [
        "/usr/share/fonts/truetype/noto/NotoSerif-Italic.ttf",
        "/usr/share/fonts/truetype/noto/NotoSansArmenian-Regular.ttf",
        "/usr/share/fonts/opentype/cmu/cmunrm.ttf",
        "/usr/share/fonts/truetype/lato/Lato-Hairline.ttf",
        "/usr/share/fonts/truetype/lato/Lato-Bold.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/freefont/FreeSerif.ttf",
    ]
    assert (
        wide_fonts(installed)
        == [
            "/usr/share/fonts/opentype/cmu/cmunrm.ttf",
            "/usr/share/fonts/truetype/lato/Lato-Bold.ttf",
            "/usr/share/fonts/truetype/noto/NotoSerif-Italic.ttf",
        ]
        + default_fonts()
    )


def test_the_wide_set_never_names_the_held_out_families():
    for held_out in ("liberation", "free", "arimo", "tinos", "cousine"):
        assert not any(held_out in p.lower() for p in WIDE_FONT_FILES)
    for package in ("fonts-croscore", "fonts-urw-base35", "fonts-texgyre"):
        assert package not in WIDE_FONT_PACKAGES


def test_font_set_errors_name_what_was_received():
    assert font_set("dejavu") == {}
    with pytest.raises(ValueError, match="Received: 'comic'"):
        font_set("comic")
    with pytest.raises(ValueError, match="apt-get install fonts-noto-core"):
        wide_fonts(["/fonts/DejaVuSans.ttf", "/fonts/Unknown.otf"])
