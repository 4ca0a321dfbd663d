"""Reading real text-line datasets: a folder with a `lines.tsv` file."""

import collections
import dataclasses
import logging
import os
import unicodedata
import warnings

import numpy as np
from PIL import Image

logger = logging.getLogger(__name__)

LINES_FILE = "lines.tsv"

# Why a line or an image is skipped; the keys of `LinesDataset.skipped`.
SKIP_REASONS = (
    "malformed_line",
    "empty_text",
    "missing_image",
    "corrupt_image",
    "empty_image",
    "too_wide",
    "too_large",
    "unknown_characters",
)


class LineImageError(ValueError):
    """A line image that cannot be used; `reason` is one of SKIP_REASONS."""

    def __init__(self, message, reason):
        super().__init__(message)
        self.reason = reason


def load_line_image(path, height=32, max_width=None):
    """Loads a text-line image as float32 `(height, width)`, ink 1.0.

    The image is converted to grayscale (transparent pixels become white
    paper), inverted so dark ink on light paper becomes 1.0 on 0.0, and
    resized to `height` rows keeping its aspect ratio (width at least 1).

    Args:
        path: path of an image file Pillow reads (PNG, JPEG, ...).
        height: int, output height in pixels.
        max_width: int or None; a line wider than this after resizing is
            an error rather than a huge tensor.

    Returns:
        float32 array of shape `(height, width)` with values in [0, 1].

    Raises:
        LineImageError: a `ValueError` whose `reason` is
            `"missing_image"`, `"corrupt_image"`, `"empty_image"` (zero
            width or height, or no bytes), `"too_wide"` or `"too_large"`
            (more pixels than Pillow's `Image.MAX_IMAGE_PIXELS`, a
            decompression-bomb guard).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise LineImageError(f"No image file at {path}", "missing_image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, image_height = image.size
                if width == 0 or image_height == 0:
                    raise LineImageError(
                        f"Empty image (size {width}x{image_height}): {path}",
                        "empty_image",
                    )
                if max_width is not None:
                    scaled = max(1, round(width * height / image_height))
                    if scaled > max_width:
                        raise LineImageError(
                            f"Image {path} is {scaled} pixels wide at height "
                            f"{height}, more than max_width={max_width}",
                            "too_wide",
                        )
                image.load()
                gray = _to_gray(image)
    except LineImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise LineImageError(
            f"Image {path} has too many pixels to decode safely: {e}",
            "too_large",
        ) from e
    except Exception as e:  # Pillow raises many types for bad files.
        if _is_empty_file(path):
            raise LineImageError(
                f"Empty image (no bytes or zero size): {path}", "empty_image"
            ) from e
        raise LineImageError(
            f"Cannot read image {path}: {type(e).__name__}: {e}",
            "corrupt_image",
        ) from e
    out_width = max(1, round(width * height / image_height))
    gray = gray.resize((out_width, height), Image.Resampling.BILINEAR)
    return 1.0 - np.asarray(gray, dtype="float32") / 255.0


def _is_empty_file(path):
    """Whether `path` has no bytes or is a PNG of zero width or height.

    Pillow refuses to open zero-size images at all, so their header is read
    here to tell them from corrupt files.
    """
    with open(path, "rb") as f:
        head = f.read(24)
    if not head:
        return True
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        width = int.from_bytes(head[16:20], "big")
        height = int.from_bytes(head[20:24], "big")
        return width == 0 or height == 0
    return False


def _to_gray(image):
    """Grayscale copy of a Pillow image, transparency composited on white."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        image = image.convert("RGBA")
        paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype="float64")
        peak = 65535.0 if array.max() > 255 else 255.0
        return Image.fromarray(
            np.round(255.0 * np.clip(array / peak, 0, 1)).astype("uint8")
        )
    return image.convert("L")


@dataclasses.dataclass(frozen=True)
class LineRecord:
    """One sample of a `lines.tsv` file.

    Attributes:
        path: absolute path of the image.
        text: the transcription, NFC-normalized, surrounding spaces removed.
        metadata: dict of the extra columns (column name to string).
        line_number: 1-based line in `lines.tsv`.
    """

    path: str
    text: str
    metadata: dict
    line_number: int


class LinesDataset:
    """The readable samples of a `lines.tsv` file, and what was skipped.

    Made by `read_lines_tsv`. Iterating gives `LineRecord`s.

    Attributes:
        folder: the dataset folder.
        records: list of `LineRecord`.
        columns: list of column names, `["path", "text", ...]`.
        skipped: `collections.Counter` of skipped samples by reason (see
            `SKIP_REASONS`); `load_images` adds to it.
        problems: list of `(line_number, reason, detail)` for each skip.
    """

    def __init__(self, folder, records, columns, skipped, problems):
        self.folder = folder
        self.records = records
        self.columns = columns
        self.skipped = skipped
        self.problems = problems

    def __len__(self):
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    def __getitem__(self, index):
        return self.records[index]

    def __repr__(self):
        return (
            f"LinesDataset({self.folder!r}, {len(self)} lines, "
            f"skipped={dict(self.skipped)})"
        )

    @property
    def paths(self):
        return [record.path for record in self.records]

    @property
    def texts(self):
        return [record.text for record in self.records]

    @property
    def metadata_columns(self):
        return self.columns[2:]

    def load_images(self, height=32, max_width=None):
        """Loads every image; unusable ones are skipped and counted.

        Args:
            height: int, image height in pixels.
            max_width: int or None, the widest image kept.

        Returns:
            A tuple `(images, records)`: a list of float32 `(height, width)`
            arrays and the list of `LineRecord`s they belong to.
        """
        images, kept = [], []
        newly_skipped = collections.Counter()
        for record in self.records:
            try:
                image = load_line_image(record.path, height, max_width)
            except LineImageError as e:
                newly_skipped[e.reason] += 1
                self.problems.append((record.line_number, e.reason, str(e)))
                continue
            images.append(image)
            kept.append(record)
        if newly_skipped:
            self.skipped.update(newly_skipped)
            logger.warning(
                "Skipped %d of %d images of %s: %s",
                sum(newly_skipped.values()),
                len(self.records),
                self.folder,
                dict(newly_skipped),
            )
        return images, kept


def _is_header(fields):
    return fields[0].startswith("#") or fields[:2] == ["path", "text"]


def read_lines_tsv(
    folder, charset=None, check_images=True, height=32, max_width=None
):
    """Reads a text-line dataset folder.

    The folder holds `lines.tsv`, UTF-8, one sample a line:
    `relative/path.png<TAB>transcription[<TAB>more columns]`. Paths are
    relative to the folder (absolute paths are kept). The first line may
    be a header naming the columns: either starting with `#`
    (`# path<TAB>text<TAB>font<TAB>tier`) or starting exactly with
    `path<TAB>text`. The third and later columns become each record's
    `metadata`, under the header's names (`column_3`, `column_4`, ...
    without a header); missing trailing columns read as `""`. Blank lines
    and later lines starting with `#` are ignored.

    Unusable samples are skipped, counted by reason in the result's
    `skipped` Counter and reported in one logged warning: a line without a
    tab (`malformed_line`), an empty transcription (`empty_text`), a
    transcription with characters outside `charset`
    (`unknown_characters`), a missing image file (`missing_image`), and
    with `check_images`, an image that is unreadable, of zero size or
    wider than `max_width` at `height`, or too large to decode safely
    (`corrupt_image`, `empty_image`, `too_wide`, `too_large`).

    Args:
        folder: path of the dataset folder (or of the `lines.tsv` itself).
        charset: optional `Charset`; transcriptions it cannot encode are
            skipped.
        check_images: bool, whether to open and decode every image now.
            Without it only the file's existence is checked, and
            `LinesDataset.load_images` skips bad images later.
        height: int, the height at which `max_width` applies.
        max_width: int or None, with `check_images`: skip images wider than
            this once resized to `height`.

    Returns:
        A `LinesDataset`.

    Raises:
        ValueError: `lines.tsv` is missing or is not UTF-8 (the message
            names the file and the line).
    """
    folder = os.path.abspath(os.fspath(folder))
    if os.path.isfile(folder):
        tsv_path, folder = folder, os.path.dirname(folder)
    else:
        tsv_path = os.path.join(folder, LINES_FILE)
    if not os.path.isfile(tsv_path):
        raise ValueError(
            f"No {LINES_FILE} in the dataset folder. Received: {folder!r}"
        )
    with open(tsv_path, "rb") as f:
        data = f.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]

    columns = ["path", "text"]
    records = []
    skipped = collections.Counter()
    problems = []
    header_allowed = True
    for line_number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            line = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError as e:
            raise ValueError(
                f"{tsv_path}: line {line_number} is not UTF-8 "
                f"({e.reason} at byte {e.start}). Received: {raw[:80]!r}"
            ) from e
        if not line.strip():
            continue
        fields = line.split("\t")
        if header_allowed and _is_header(fields):
            names = [name.strip() for name in fields]
            names[0] = names[0].lstrip("#").strip()
            columns = ["path", "text"] + names[2:]
            header_allowed = False
            continue
        header_allowed = False
        if line.startswith("#"):
            continue

        # Path and text.
        reason = None
        if len(fields) < 2:
            reason, detail = "malformed_line", "no tab"
        else:
            text = unicodedata.normalize("NFC", fields[1]).strip()
            path = os.path.join(folder, fields[0].strip())
            if not text:
                reason, detail = "empty_text", ""
            elif charset is not None and charset.unknown_characters(text):
                reason = "unknown_characters"
                detail = str(charset.unknown_characters(text))
            elif not os.path.isfile(path):
                reason, detail = "missing_image", path
            elif check_images:
                try:
                    load_line_image(path, height, max_width)
                except LineImageError as e:
                    reason, detail = e.reason, str(e)
        if reason is not None:
            skipped[reason] += 1
            problems.append((line_number, reason, detail))
            logger.debug("%s:%d skipped: %s", tsv_path, line_number, reason)
            continue

        # Metadata columns, named by the header or by position.
        metadata = {}
        for index in range(2, max(len(fields), len(columns))):
            name = (
                columns[index]
                if index < len(columns)
                else f"column_{index + 1}"
            )
            metadata[name] = fields[index] if index < len(fields) else ""
        records.append(
            LineRecord(os.path.normpath(path), text, metadata, line_number)
        )

    if skipped:
        logger.warning(
            "Skipped %d of %d lines of %s: %s",
            sum(skipped.values()),
            sum(skipped.values()) + len(records),
            tsv_path,
            dict(skipped),
        )
    return LinesDataset(folder, records, columns, skipped, problems)
