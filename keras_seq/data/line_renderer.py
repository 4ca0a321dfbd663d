"""Synthetic text-line images: Pillow rendering plus augmentation."""

import dataclasses
import io
import logging
import math
import os
import unicodedata

import keras
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from keras_seq.data import fonts as fonts_lib

logger = logging.getLogger(__name__)


@keras.saving.register_keras_serializable(package="keras_seq")
@dataclasses.dataclass
class Augmentation:
    """How often and how strongly `LineRenderer` degrades a line.

    Each effect applies with its `*_probability`; its strength is drawn
    uniformly from its range. Lengths are in pixels of the output image
    (whose height is the renderer's `height`) unless said otherwise.

    Args:
        blur_probability: chance of a Gaussian blur.
        blur_sigma: (low, high) blur standard deviation in output pixels.
        noise_probability: chance of additive Gaussian noise.
        noise_std: (low, high) noise standard deviation, ink units.
        rotation_probability: chance of a rotation.
        rotation_degrees: largest rotation either way, in degrees.
        shear_probability: chance of a horizontal shear (slant).
        shear: largest shear either way, as the tangent of the slant.
        width_scale: (low, high) horizontal stretch factor, always applied.
        stroke_probability: chance of a thicker or thinner stroke.
        stroke_width: largest extra stroke in pixels at the rendering size
            (a font size of `height` pixels); a thinner stroke (one pixel
            eroded) is drawn as often as each thicker width.
        contrast_probability: chance of lowered contrast.
        ink_level: (low, high) ink intensity when contrast is lowered.
        background_level: (low, high) background intensity when contrast
            is lowered.
        jpeg_probability: chance of JPEG compression artefacts.
        jpeg_quality: (low, high) JPEG quality, integers in [1, 95].
        texture_probability: chance of a smooth paper-like background.
        texture_strength: (low, high) peak intensity of the texture.
        texture_scale: size of the texture's blobs, in output pixels.
        padding_probability: chance of random margins; otherwise a fixed
            margin of `0.1 * height` left and right.
        horizontal_padding: (low, high) left and right margins, each drawn
            separately, as fractions of the height.
        vertical_padding: (low, high) top and bottom margins as fractions
            of the height; negative values crop into the font's line box.

    Example:

    >>> augmentation = Augmentation(noise_probability=1.0)
    >>> Augmentation.none().blur_probability
    0.0
    """

    blur_probability: float = 0.3
    blur_sigma: tuple = (0.3, 1.0)
    noise_probability: float = 0.4
    noise_std: tuple = (0.01, 0.08)
    rotation_probability: float = 0.4
    rotation_degrees: float = 1.5
    shear_probability: float = 0.3
    shear: float = 0.3
    width_scale: tuple = (0.85, 1.15)
    stroke_probability: float = 0.3
    stroke_width: int = 1
    contrast_probability: float = 0.4
    ink_level: tuple = (0.5, 1.0)
    background_level: tuple = (0.0, 0.3)
    jpeg_probability: float = 0.3
    jpeg_quality: tuple = (20, 70)
    texture_probability: float = 0.3
    texture_strength: tuple = (0.05, 0.25)
    texture_scale: float = 6.0
    padding_probability: float = 0.8
    horizontal_padding: tuple = (0.0, 0.5)
    vertical_padding: tuple = (-0.05, 0.15)

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, list):
                value = tuple(value)
                setattr(self, field.name, value)
            if field.name.endswith("_probability") and not 0 <= value <= 1:
                raise ValueError(
                    f"`{field.name}` must be in [0, 1]. "
                    f"Received: {field.name}={value!r}"
                )
            if isinstance(value, tuple) and (
                len(value) != 2 or value[0] > value[1]
            ):
                raise ValueError(
                    f"`{field.name}` must be a (low, high) pair with "
                    f"low <= high. Received: {field.name}={value!r}"
                )
        if not 1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 95:
            raise ValueError(
                "`jpeg_quality` must lie in [1, 95]. "
                f"Received: jpeg_quality={self.jpeg_quality!r}"
            )
        if self.width_scale[0] <= 0:
            raise ValueError(
                "`width_scale` must be positive. "
                f"Received: width_scale={self.width_scale!r}"
            )

    @classmethod
    def none(cls):
        """An `Augmentation` that changes nothing (fixed margins only)."""
        return cls(
            blur_probability=0.0,
            noise_probability=0.0,
            rotation_probability=0.0,
            shear_probability=0.0,
            width_scale=(1.0, 1.0),
            stroke_probability=0.0,
            contrast_probability=0.0,
            jpeg_probability=0.0,
            texture_probability=0.0,
            padding_probability=0.0,
        )

    def get_config(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_config(cls, config):
        return cls(**config)


_NO_AUGMENTATION = Augmentation.none()


def _gaussian_blur(image, sigma):
    """Separable Gaussian blur of a 2-D float array, edges replicated."""
    radius = max(1, int(math.ceil(3 * sigma)))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (radius, radius)
        padded = np.pad(image, pad, mode="edge")
        size = image.shape[axis]
        out = np.zeros_like(image)
        for weight, start in zip(kernel, range(2 * radius + 1)):
            out += weight * np.take(
                padded, np.arange(start, start + size), axis=axis
            )
        image = out
    return image


@keras.saving.register_keras_serializable(package="keras_seq")
class LineRenderer:
    """Renders a line of text as a normalized image, with augmentation.

    The text is drawn with Pillow at a font size of `height` pixels, in a
    font picked at random among those covering all its characters, inside
    the font's line box (ascent plus descent, about 1.16 em for DejaVu, so
    "..." and "Ag" keep their real sizes); then stroked, sheared, rotated
    and padded, resized to `height` keeping the aspect ratio (times a
    random horizontal stretch), and degraded (background texture,
    contrast, blur, noise, JPEG). Every random choice comes from one
    `numpy.random.Generator`, drawn in the same order whatever the
    `Augmentation` says, so a seed gives the same images on every machine
    with the same fonts and the same Pillow (FreeType) build.

    Fonts: by default the DejaVu faces bundled with matplotlib (Sans, Serif
    and Sans Mono, with bold and oblique faces; see `default_fonts`), which
    cover Latin, Latin Extended, Greek and Cyrillic. `font_dir` adds every
    font in a folder and `system_fonts=True` every installed font; either
    one replaces the default unless `fonts` is given too. `exclude_fonts`
    holds families out (to test on fonts never trained on).

    Args:
        height: int, output height in pixels.
        fonts: list of font file paths, or None.
        font_dir: path of a folder of .ttf/.otf/.ttc files, or None.
        system_fonts: bool, whether to add the machine's installed fonts.
        exclude_fonts: strings; a font whose file name or family name
            contains one of them (case-insensitive) is left out.
        augment: bool, whether to apply `augmentation`. Without it a line
            gets a fixed margin of `0.1 * height` left and right, ink 1.0
            on background 0.0.
        seed: int, seed of the renderer's own random generator.
        augmentation: an `Augmentation`, a dict of its fields, or None for
            the default `Augmentation()`.

    Call arguments (`render`):
        text: str with at least one non-space character and no control
            characters (one line: no tab or newline). Empty text is an
            error rather than a zero-width image.
        rng: optional `numpy.random.Generator`; defaults to the renderer's.

    Returns (`render`):
        A tuple `(image, info)`: `image` is a float32 array of shape
        `(height, width)` with ink 1.0 and background 0.0 and
        `width >= 1` (proportional to the text's length); `info` is a dict
        naming the `font` (file name without extension), its `font_path`,
        and the strength of every augmentation applied (absent when not
        applied).

    Example:

    >>> renderer = LineRenderer(height=32, augment=False)
    >>> image, info = renderer.render("Příliš žluťoučký kůň")
    >>> image.shape[0], image.dtype.name
    (32, 'float32')
    """

    def __init__(
        self,
        height=32,
        fonts=None,
        font_dir=None,
        system_fonts=False,
        exclude_fonts=(),
        augment=True,
        seed=0,
        augmentation=None,
    ):
        if not isinstance(height, int) or height < 8:
            raise ValueError(
                f"`height` must be an int >= 8. Received: height={height!r}"
            )
        if augmentation is None:
            augmentation = Augmentation()
        elif isinstance(augmentation, dict):
            augmentation = Augmentation(**augmentation)
        elif not isinstance(augmentation, Augmentation):
            raise ValueError(
                "`augmentation` must be an Augmentation, a dict or None. "
                f"Received: augmentation={augmentation!r}"
            )
        self.height = height
        self.fonts = None if fonts is None else [os.fspath(f) for f in fonts]
        self.font_dir = None if font_dir is None else os.fspath(font_dir)
        self.system_fonts = system_fonts
        if isinstance(exclude_fonts, str):
            exclude_fonts = (exclude_fonts,)
        self.exclude_fonts = tuple(exclude_fonts)
        self.augment = augment
        self.seed = seed
        self.augmentation = augmentation
        self._rng = np.random.default_rng(seed)
        self._font_size = height
        self._font_cache = {}

        # Collect the font files, then keep those Pillow and fontTools read.
        paths = list(self.fonts or [])
        if font_dir is not None:
            found = fonts_lib.find_fonts(font_dir)
            if not found:
                raise ValueError(f"No fonts in font_dir. Received: {font_dir}")
            paths += found
        if system_fonts:
            found = fonts_lib.system_fonts()
            if not found:
                logger.warning("No system fonts found.")
            paths += found
        if fonts is None and font_dir is None and not system_fonts:
            paths = fonts_lib.default_fonts()
        self.font_paths = []
        for path in dict.fromkeys(paths):
            if self.exclude_fonts and fonts_lib.font_matches(
                path, self.exclude_fonts
            ):
                continue
            try:
                self._font(path)
                fonts_lib.font_codepoints(path)
            except Exception as e:  # Any unreadable file: skip it.
                logger.warning("Skipping unreadable font %s: %s", path, e)
                continue
            self.font_paths.append(path)
        if not self.font_paths:
            raise ValueError(
                f"No usable fonts. Received: fonts={fonts!r}, "
                f"font_dir={font_dir!r}, system_fonts={system_fonts!r}, "
                f"exclude_fonts={self.exclude_fonts!r}"
            )

    def _font(self, path):
        font = self._font_cache.get(path)
        if font is None:
            font = ImageFont.truetype(
                path, self._font_size, layout_engine=ImageFont.Layout.BASIC
            )
            self._font_cache[path] = font
        return font

    def fonts_covering(self, text):
        """The renderer's font paths whose character map covers `text`."""
        return [
            path
            for path in self.font_paths
            if not fonts_lib.missing_characters(path, text)
        ]

    def render(self, text, rng=None):
        """Renders `text`; see the class docstring."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError(
                "`text` must be a string with a non-space character. "
                f"Received: text={text!r}"
            )
        control = sorted(
            set(c for c in text if unicodedata.category(c).startswith("C"))
        )
        if control:
            raise ValueError(
                "`text` must be one line without control characters (tabs, "
                f"newlines, ...); found {control}. Received: text={text!r}"
            )
        text = unicodedata.normalize("NFC", text)
        rng = self._rng if rng is None else rng
        aug = self.augmentation if self.augment else _NO_AUGMENTATION

        # Scalar draws, always in this order, so that an effect's
        # probability never shifts the draws of the others.
        font_draw = rng.random()
        u = rng.random(10)
        stroke_draw = int(rng.integers(0, aug.stroke_width + 1)) or -1
        width_scale = rng.uniform(*aug.width_scale)
        shear = rng.uniform(-aug.shear, aug.shear)
        rotation = rng.uniform(-aug.rotation_degrees, aug.rotation_degrees)
        pads = np.concatenate(
            [
                rng.uniform(*aug.horizontal_padding, size=2),
                rng.uniform(*aug.vertical_padding, size=2),
            ]
        )
        ink_level = rng.uniform(*aug.ink_level)
        background_level = rng.uniform(*aug.background_level)
        texture_strength = rng.uniform(*aug.texture_strength)
        blur_sigma = rng.uniform(*aug.blur_sigma)
        noise_std = rng.uniform(*aug.noise_std)
        jpeg_quality = int(round(rng.uniform(*aug.jpeg_quality)))
        array_rng = np.random.default_rng(rng.integers(2**63))

        # Font: a random one; if it lacks a character, a random one among
        # those that cover the text.
        path = self.font_paths[int(font_draw * len(self.font_paths))]
        if fonts_lib.missing_characters(path, text):
            covering = self.fonts_covering(text)
            if not covering:
                missing = sorted(
                    set().union(
                        *(
                            fonts_lib.missing_characters(p, text)
                            for p in self.font_paths
                        )
                    )
                )
                raise ValueError(
                    "No font covers every character of the text; missing "
                    f"in some font: {missing}. Received: text={text!r}"
                )
            path = covering[int(font_draw * len(covering))]
        font = self._font(path)
        info = {
            "font": os.path.splitext(os.path.basename(path))[0],
            "font_path": path,
        }

        # Draw the line box at the rendering size: ink 255 on 0.
        stroke = 0
        if u[0] < aug.stroke_probability:
            stroke = stroke_draw
            info["stroke"] = stroke
        draw_stroke = max(stroke, 0)
        ascent, descent = font.getmetrics()
        left, top, right, bottom = font.getbbox(
            text, anchor="la", stroke_width=draw_stroke
        )
        advance = font.getlength(text)
        x0 = min(0, left) - draw_stroke
        x1 = max(advance, right) + draw_stroke
        y0 = min(0, top) - draw_stroke
        y1 = max(ascent + descent, bottom) + draw_stroke
        canvas = Image.new(
            "L", (int(math.ceil(x1 - x0)) + 1, int(math.ceil(y1 - y0)) + 1)
        )
        ImageDraw.Draw(canvas).text(
            (-x0, -y0),
            text,
            font=font,
            fill=255,
            anchor="la",
            stroke_width=draw_stroke,
            stroke_fill=255,
        )
        if stroke < 0:
            canvas = canvas.filter(ImageFilter.MinFilter(3))

        # Geometry: shear and rotation as one affine resampling. `forward`
        # maps canvas (x, y, 1) to output pixels; Pillow wants the inverse.
        width, box_height = canvas.size
        forward = np.eye(3)
        if u[1] < aug.shear_probability:
            # Top edge moves right for a positive shear: x += shear * (h - y).
            forward = np.array(
                [[1.0, -shear, shear * box_height], [0, 1, 0], [0, 0, 1]]
            )
            info["shear"] = shear
        if u[2] < aug.rotation_probability:
            # Counter-clockwise on screen (y points down).
            cos = math.cos(math.radians(rotation))
            sin = math.sin(math.radians(rotation))
            forward = np.array([[cos, sin, 0], [-sin, cos, 0], [0, 0, 1]]) @ (
                forward
            )
            info["rotation"] = rotation
        if "shear" in info or "rotation" in info:
            corners = forward @ np.array(
                [[0, width, 0, width], [0, 0, box_height, box_height], [1] * 4]
            )
            low = corners[:2].min(axis=1)
            size = np.ceil(corners[:2].max(axis=1) - low).astype(int)
            forward[:2, 2] -= low
            inverse = np.linalg.inv(forward)
            canvas = canvas.transform(
                (int(size[0]) + 1, int(size[1]) + 1),
                Image.Transform.AFFINE,
                tuple(inverse[:2].ravel()),
                resample=Image.Resampling.BILINEAR,
            )

        # Margins (a box reaching outside the canvas pads it with 0), then
        # the resize to the output height.
        width, box_height = canvas.size
        if u[3] < aug.padding_probability:
            margins = pads * box_height
            info["padding"] = tuple(float(p) for p in pads)
        else:
            margins = np.array([0.1, 0.1, 0.0, 0.0]) * box_height
        margins = np.round(margins).astype(int)
        canvas = canvas.crop(
            (
                -margins[0],
                -margins[2],
                width + margins[1],
                box_height + margins[3],
            )
        )
        # The horizontal stretch happens in this resize.
        width, box_height = canvas.size
        if width_scale != 1.0:
            info["width_scale"] = width_scale
        out_width = max(
            1, int(round(width * width_scale * self.height / box_height))
        )
        canvas = canvas.resize(
            (out_width, self.height), Image.Resampling.BILINEAR
        )
        ink = np.asarray(canvas, dtype="float32") / 255.0

        # Photometry: background texture and contrast, blur, noise, JPEG.
        background = np.zeros_like(ink)
        ink_value = 1.0
        if u[4] < aug.contrast_probability:
            ink_value = ink_level
            background += min(background_level, 0.8 * ink_level)
            info["contrast"] = (float(ink_level), float(background_level))
        if u[5] < aug.texture_probability:
            scale = max(aug.texture_scale, 1.0)
            grid = array_rng.random(
                (
                    int(math.ceil(self.height / scale)) + 1,
                    int(math.ceil(out_width / scale)) + 1,
                )
            )
            texture = Image.fromarray(grid.astype("float32"), mode="F")
            texture = texture.resize(
                (out_width, self.height), Image.Resampling.BICUBIC
            )
            background += texture_strength * np.clip(
                np.asarray(texture), 0.0, 1.0
            )
            info["texture"] = float(texture_strength)
        image = background + (ink_value - background) * ink
        if u[6] < aug.blur_probability:
            image = _gaussian_blur(image, blur_sigma)
            info["blur"] = float(blur_sigma)
        if u[7] < aug.noise_probability:
            image = image + array_rng.normal(0.0, noise_std, image.shape)
            info["noise"] = float(noise_std)
        image = np.clip(image, 0.0, 1.0)
        if u[8] < aug.jpeg_probability:
            # Compress as a scan would be: dark ink on white paper.
            paper = Image.fromarray(
                np.round(255.0 * (1.0 - image)).astype("uint8")
            )
            buffer = io.BytesIO()
            paper.save(buffer, format="JPEG", quality=jpeg_quality)
            buffer.seek(0)
            paper = np.asarray(Image.open(buffer).convert("L"))
            image = 1.0 - paper.astype("float32") / 255.0
            info["jpeg"] = jpeg_quality
        return image.astype("float32"), info

    def get_config(self):
        return {
            "height": self.height,
            "fonts": self.fonts,
            "font_dir": self.font_dir,
            "system_fonts": self.system_fonts,
            "exclude_fonts": list(self.exclude_fonts),
            "augment": self.augment,
            "seed": self.seed,
            "augmentation": self.augmentation.get_config(),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
