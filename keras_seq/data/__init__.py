"""Text-line data for OCR: charset, text sampler, line renderer, readers.

Images are float32 `(height, width)` arrays with ink 1.0 on background 0.0,
so zero padding on the right is blank background.
"""

from keras_seq.data.charset import Charset
from keras_seq.data.fonts import (
    default_fonts,
    find_fonts,
    font_codepoints,
    missing_characters,
    system_fonts,
)
from keras_seq.data.line_renderer import Augmentation, LineRenderer
from keras_seq.data.text_sampler import TextSampler

__all__ = [
    "Augmentation",
    "Charset",
    "LineRenderer",
    "TextSampler",
    "default_fonts",
    "find_fonts",
    "font_codepoints",
    "missing_characters",
    "system_fonts",
]
