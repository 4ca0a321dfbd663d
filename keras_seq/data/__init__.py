"""Text-line data for OCR: charset, text sampler, line renderer, readers.

Images are float32 `(height, width)` arrays with ink 1.0 on background 0.0,
so zero padding on the right is blank background.
"""

from keras_seq.data.charset import Charset
from keras_seq.data.fonts import (
    default_fonts,
    find_fonts,
    font_codepoints,
    font_family,
    font_matches,
    missing_characters,
    system_fonts,
)
from keras_seq.data.line_renderer import Augmentation, LineRenderer
from keras_seq.data.lines_tsv import (
    LineImageError,
    LineRecord,
    LinesDataset,
    load_line_image,
    read_lines_tsv,
)
from keras_seq.data.pipeline import (
    DEFAULT_BUCKET_BOUNDARIES,
    line_dataset,
    min_ctc_frames,
    pad_line_image,
    synthetic_line_dataset,
)
from keras_seq.data.text_sampler import TextSampler

__all__ = [
    "DEFAULT_BUCKET_BOUNDARIES",
    "Augmentation",
    "Charset",
    "LineImageError",
    "LineRecord",
    "LineRenderer",
    "LinesDataset",
    "TextSampler",
    "default_fonts",
    "find_fonts",
    "font_codepoints",
    "font_family",
    "font_matches",
    "line_dataset",
    "load_line_image",
    "min_ctc_frames",
    "missing_characters",
    "pad_line_image",
    "read_lines_tsv",
    "synthetic_line_dataset",
    "system_fonts",
]
