import logging
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from keras_seq.data import (
    Charset,
    LineImageError,
    load_line_image,
    read_lines_tsv,
)


def _line_png(path, width=120, height=40):
    """Dark ink (a bar) on white paper."""
    image = Image.new("L", (width, height), 255)
    image.paste(0, (10, 10, width - 10, height - 10))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def _png_header_only(path, width, height):
    """A PNG that claims a size and holds no pixel data."""

    def chunk(kind, data):
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def _write(folder, text):
    (folder / "lines.tsv").write_text(text, encoding="utf-8")


@pytest.fixture
def folder(tmp_path):
    _line_png(tmp_path / "img" / "a.png")
    _line_png(tmp_path / "img" / "b.png")
    return tmp_path


def test_reads_records_with_hash_header(folder):
    _write(
        folder,
        "# path\ttext\tfont\ttier\n"
        "img/a.png\tŽluťoučký kůň\tDejaVu\tclean\n"
        "img/b.png\t  Grüße  \tSerif\n",
    )
    dataset = read_lines_tsv(folder)
    assert len(dataset) == 2 and not dataset.skipped
    assert dataset.columns == ["path", "text", "font", "tier"]
    assert dataset.texts == ["Žluťoučký kůň", "Grüße"]
    first, second = dataset
    assert first.path == str(folder / "img" / "a.png")
    assert first.metadata == {"font": "DejaVu", "tier": "clean"}
    assert second.metadata == {"font": "Serif", "tier": ""}
    assert second.line_number == 3


def test_plain_header_no_header_and_tsv_path(folder):
    _write(folder, "path\ttext\tlanguage\nimg/a.png\tx\tcs\n")
    dataset = read_lines_tsv(folder / "lines.tsv")
    assert dataset[0].metadata == {"language": "cs"}

    _write(folder, "img/a.png\tx\tcs\tclean\n\n# a comment\nimg/b.png\ty\n")
    dataset = read_lines_tsv(folder)
    assert dataset.columns == ["path", "text"]
    assert dataset[0].metadata == {"column_3": "cs", "column_4": "clean"}
    assert dataset.texts == ["x", "y"]


def test_bom_and_crlf(folder):
    data = "\ufeffimg/a.png\tabc\r\nimg/b.png\tdef\r\n".encode()
    (folder / "lines.tsv").write_bytes(data)
    assert read_lines_tsv(folder).texts == ["abc", "def"]


def test_non_utf8_names_file_and_line(folder):
    data = "img/a.png\tok\nimg/b.png\tžluť\n".encode() + (
        "img/b.png\tčeská\n".encode("cp1250")
    )
    (folder / "lines.tsv").write_bytes(data)
    with pytest.raises(ValueError, match=r"lines\.tsv: line 3 is not UTF-8"):
        read_lines_tsv(folder)


def test_missing_lines_tsv(tmp_path):
    with pytest.raises(ValueError, match="No lines.tsv"):
        read_lines_tsv(tmp_path)


def test_every_bad_sample_is_skipped_and_counted(folder, caplog):
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nrubbish" * 10)
    (folder / "empty.png").write_bytes(b"")
    _png_header_only(folder / "zero.png", 0, 10)
    _png_header_only(folder / "bomb.png", 200_000, 2_000)
    whole = folder / "whole.png"
    _line_png(whole)
    (folder / "truncated.png").write_bytes(
        whole.read_bytes()[: whole.stat().st_size // 2]
    )
    _line_png(folder / "wide.png", width=5000, height=40)
    _write(
        folder,
        "img/a.png\tgood\n"
        "no tab on this line\n"
        "img/a.png\t   \n"
        "missing.png\tabc\n"
        "corrupt.png\tabc\n"
        "truncated.png\tabc\n"
        "empty.png\tabc\n"
        "zero.png\tabc\n"
        "wide.png\tabc\n"
        "img/b.png\tabc§\n"
        "bomb.png\tabc\n",
    )
    charset = Charset("abcdgo")
    with caplog.at_level(logging.WARNING):
        dataset = read_lines_tsv(folder, charset=charset, max_width=1000)
    assert dataset.texts == ["good"]
    assert dict(dataset.skipped) == {
        "malformed_line": 1,
        "empty_text": 1,
        "missing_image": 1,
        "corrupt_image": 2,
        "empty_image": 2,
        "too_wide": 1,
        "too_large": 1,
        "unknown_characters": 1,
    }
    assert "Skipped 10 of 11 lines" in caplog.text
    lines = {number: reason for number, reason, _ in dataset.problems}
    assert lines[2] == "malformed_line" and lines[10] == "unknown_characters"


def test_unchecked_images_are_skipped_at_load_time(folder, caplog):
    (folder / "corrupt.png").write_bytes(b"not an image")
    _line_png(folder / "wide.png", width=3000, height=40)
    _write(folder, "img/a.png\ta\ncorrupt.png\tb\nwide.png\tc\n")
    dataset = read_lines_tsv(folder, check_images=False)
    assert len(dataset) == 3 and not dataset.skipped
    with caplog.at_level(logging.WARNING):
        images, records = dataset.load_images(height=16, max_width=500)
    assert [r.text for r in records] == ["a"]
    assert images[0].shape == (16, 48)
    assert dict(dataset.skipped) == {"corrupt_image": 1, "too_wide": 1}
    assert "Skipped 2 of 3 images" in caplog.text


def test_load_line_image_polarity_and_aspect(tmp_path):
    path = tmp_path / "line.png"
    _line_png(path, width=200, height=64)
    image = load_line_image(path, height=32)
    assert image.dtype == np.float32 and image.shape == (32, 100)
    assert image[0, 0] == 0.0  # White paper is background.
    assert image[16, 50] == 1.0  # The black bar is ink.


def test_load_line_image_transparency_and_16_bit(tmp_path):
    path = tmp_path / "rgba.png"
    rgba = Image.new("RGBA", (40, 20), (0, 0, 0, 0))
    rgba.paste((0, 0, 0, 255), (10, 5, 30, 15))
    rgba.save(path)
    image = load_line_image(path, height=20)
    assert image[0, 0] == 0.0 and image[10, 20] == 1.0

    path = tmp_path / "deep.png"
    deep = np.full((20, 40), 65535, dtype="uint16")
    deep[5:15, 10:30] = 0
    Image.fromarray(deep).save(path)
    image = load_line_image(path, height=20)
    assert image[0, 0] == 0.0 and image[10, 20] == 1.0


def test_load_line_image_errors(tmp_path):
    with pytest.raises(LineImageError, match="No image") as info:
        load_line_image(tmp_path / "nope.png")
    assert info.value.reason == "missing_image"
    assert isinstance(info.value, ValueError)
    _line_png(tmp_path / "wide.png", width=2000, height=20)
    with pytest.raises(LineImageError, match="max_width=100") as info:
        load_line_image(tmp_path / "wide.png", height=32, max_width=100)
    assert info.value.reason == "too_wide"
