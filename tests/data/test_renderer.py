import doctest
import os
import shutil

import numpy as np
import pytest
from PIL import ImageFont

from keras_seq.data import (
    Augmentation,
    LineRenderer,
    TextSampler,
    default_fonts,
    font_codepoints,
    font_family,
    font_matches,
    line_renderer,
    system_fonts,
)

TEXT = "Příliš žluťoučký kůň, Grüße 1.5%"


def test_docstring_examples():
    result = doctest.testmod(line_renderer)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("augment", [False, True])
def test_image_properties(augment):
    renderer = LineRenderer(height=32, augment=augment, seed=0)
    for _ in range(20):
        image, info = renderer.render(TEXT)
        assert image.dtype == np.float32
        assert image.ndim == 2 and image.shape[0] == 32
        assert image.shape[1] > 100
        assert np.isfinite(image).all()
        assert image.min() >= 0.0 and image.max() <= 1.0
        assert image.max() > 0.4  # Ink is present.
        assert os.path.isfile(info["font_path"])


def test_clean_image_has_ink_on_zero_background():
    image, _ = LineRenderer(augment=False).render("Hello")
    assert image[:, 0].max() == 0.0  # The left margin is background.
    assert image.max() == pytest.approx(1.0, abs=0.02)


def test_height_argument():
    image, _ = LineRenderer(height=48, augment=False).render("abc")
    assert image.shape[0] == 48


def test_width_grows_with_text_length():
    renderer = LineRenderer(fonts=[default_fonts()[0]], augment=False)
    widths = [renderer.render("a" * n)[0].shape[1] for n in (1, 5, 20)]
    assert widths[0] < widths[1] < widths[2]


def test_deterministic_with_seed():
    a, info_a = LineRenderer(seed=3).render(TEXT)
    b, info_b = LineRenderer(seed=3).render(TEXT)
    np.testing.assert_array_equal(a, b)
    assert info_a == info_b
    renderer = LineRenderer(seed=3)
    c, _ = renderer.render(TEXT, rng=np.random.default_rng(9))
    d, _ = renderer.render(TEXT, rng=np.random.default_rng(9))
    np.testing.assert_array_equal(c, d)


SINGLE_EFFECTS = {
    "blur": dict(blur_probability=1.0),
    "noise": dict(noise_probability=1.0),
    "rotation": dict(rotation_probability=1.0, rotation_degrees=3.0),
    "shear": dict(shear_probability=1.0, shear=0.3),
    "width_scale": dict(width_scale=(1.3, 1.4)),
    "stroke": dict(stroke_probability=1.0),
    "contrast": dict(contrast_probability=1.0, ink_level=(0.5, 0.7)),
    "jpeg": dict(jpeg_probability=1.0),
    "texture": dict(texture_probability=1.0),
    "padding": dict(padding_probability=1.0, horizontal_padding=(0.3, 0.5)),
}


@pytest.mark.parametrize("name", sorted(SINGLE_EFFECTS))
def test_each_augmentation_changes_the_image(name):
    clean = Augmentation.none()
    fields = clean.get_config()
    fields.update(SINGLE_EFFECTS[name])
    plain, plain_info = LineRenderer(augmentation=clean, seed=1).render(TEXT)
    image, info = LineRenderer(
        augmentation=Augmentation(**fields), seed=1
    ).render(TEXT)
    # Same font: the draws do not depend on the probabilities.
    assert info["font"] == plain_info["font"]
    assert name in info and name not in plain_info
    assert np.isfinite(image).all()
    assert image.min() >= 0.0 and image.max() <= 1.0
    assert image.shape[0] == plain.shape[0]
    if image.shape == plain.shape:
        assert np.abs(image - plain).max() > 0.05
    assert image.max() > 0.4


def test_rejects_empty_text():
    renderer = LineRenderer()
    for text in ("", "   ", None, "two\nlines", "a\tb"):
        with pytest.raises(ValueError, match="text"):
            renderer.render(text)


def test_tiny_text_has_positive_width():
    renderer = LineRenderer(seed=0)
    for _ in range(20):
        image, _ = renderer.render(".")
        assert image.shape[1] >= 1 and image.max() > 0


def test_character_no_font_covers():
    with pytest.raises(ValueError, match="漢"):
        LineRenderer().render("ab漢")


def test_default_fonts_cover_every_sampled_character():
    characters = TextSampler().charset().characters
    paths = default_fonts()
    assert len(paths) == 12
    for path in paths:
        codepoints = font_codepoints(path)
        missing = [c for c in characters if ord(c) not in codepoints]
        assert not missing, (path, missing)

        # Rendered glyphs differ from the missing-glyph box (.notdef),
        # which an unmapped code point renders as.
        font = ImageFont.truetype(path, 24)
        assert 0x10FFFD not in codepoints
        notdef = np.asarray(font.getmask("\U0010fffd"))
        assert notdef.size > 0
        for char in characters:
            if char == " ":
                continue
            mask = np.asarray(font.getmask(char))
            assert mask.size > 0 and mask.max() > 0, (path, char)
            same = mask.shape == notdef.shape and np.array_equal(mask, notdef)
            assert not same, (path, char)


def test_font_dir_and_explicit_fonts(tmp_path, caplog):
    shutil.copy(default_fonts()[4], tmp_path / "one.ttf")
    (tmp_path / "broken.ttf").write_bytes(b"not a font")
    renderer = LineRenderer(font_dir=tmp_path, seed=0)
    assert renderer.font_paths == [str(tmp_path / "one.ttf")]
    assert "broken.ttf" in caplog.text
    _, info = renderer.render("abc")
    assert info["font"] == "one"

    renderer = LineRenderer(fonts=[default_fonts()[0]])
    assert len(renderer.font_paths) == 1
    with pytest.raises(ValueError, match="Not a folder"):
        LineRenderer(font_dir=tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="No fonts"):
        LineRenderer(font_dir=empty)


def test_font_family_comes_from_the_name_table():
    families = sorted({font_family(path) for path in default_fonts()})
    # The file names say "DejaVuSansMono"; the name tables hold the spaces.
    assert families == ["DejaVu Sans", "DejaVu Sans Mono", "DejaVu Serif"]
    (bold_mono,) = [
        p for p in default_fonts() if p.endswith("DejaVuSansMono-Bold.ttf")
    ]
    assert font_matches(bold_mono, ["dejavu sans mono"])  # family only
    assert font_matches(bold_mono, ["MONO-BOLD"])  # file name only
    assert not font_matches(bold_mono, ["serif", "liberation"])


def test_exclude_fonts_holds_families_out():
    renderer = LineRenderer(fonts=default_fonts(), exclude_fonts=["mono"])
    assert len(renderer.font_paths) == 8
    assert not any("Mono" in path for path in renderer.font_paths)
    clone = LineRenderer.from_config(renderer.get_config())
    assert clone.font_paths == renderer.font_paths
    with pytest.raises(ValueError, match=r"exclude_fonts=\('dejavu',\)"):
        LineRenderer(exclude_fonts="dejavu")


def test_config_round_trip():
    renderer = LineRenderer(
        height=40, seed=5, augmentation=Augmentation(blur_probability=0.9)
    )
    clone = LineRenderer.from_config(renderer.get_config())
    assert clone.get_config() == renderer.get_config()
    a, _ = renderer.render(TEXT)
    b, _ = clone.render(TEXT)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"height": 4}, "height"),
        ({"augmentation": 3}, "augmentation"),
        ({"augmentation": {"blur_probability": 2.0}}, "blur_probability"),
        ({"augmentation": {"noise_std": (0.5, 0.1)}}, "noise_std"),
        ({"augmentation": {"jpeg_quality": (0, 50)}}, "jpeg_quality"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LineRenderer(**kwargs)


def test_system_fonts_are_files_and_render():
    paths = system_fonts()
    assert all(os.path.isfile(path) for path in paths)
    if paths:  # A machine without fonts has nothing more to check.
        renderer = LineRenderer(system_fonts=True, seed=0)
        assert set(renderer.font_paths) <= set(paths)
        image, info = renderer.render("Grüße")
        assert info["font_path"] in paths and image.max() > 0.4
