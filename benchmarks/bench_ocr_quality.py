"""OCR quality and speed against Tesseract 5, on lines in unseen fonts.

The test set: lines of real words (wordfreq, sampled by their real
frequency) in English, Czech, German, Polish, Spanish, French and Italian,
and real sentences (the machine's gettext translations, `catalog_sentences`),
rendered in the Liberation and GNU FreeFont faces (`TEST_FONTS`), clean
and degraded (the renderer's default augmentation: blur, noise, rotation,
shear, stroke, contrast, JPEG, texture). Each line is read by our float32
LiteRT model (1 thread) and by Tesseract (`--psm 7`, the line's own
language data, `OMP_THREAD_LIMIT=1`, one command-line call per line, the
image given dark on light at 2x with a white margin since Tesseract wants
larger text). CER and ms per line, side by side.

Training never sees a test font. The recipe trains on the OCR app's
"wide" font set (`keras_seq.apps.ocr.fonts`: Debian font packages, the
faces used named by file): with matplotlib's DejaVu, 43 families of
sans, serif, slab, monospaced, condensed and italic faces. Families
built from the same designs as the test fonts are left out on purpose:
croscore's Arimo, Tinos and Cousine (Liberation 2), URW base35 and TeX
Gyre (FreeFont's sources). Courier Prime, a redesign of Courier, is in:
the test's mono faces are Courier-like too, so training has seen the
style but not the fonts.

A second row per set decodes the same network's logits by beam search
with a character n-gram LM of the line's language (Tesseract, too, reads
with its language's dictionary); its weight is tuned on lines in the
training fonts.

The documented recipe (a CPU run, 2 cores), `make ocr-packages` (as
root) then `make bench-ocr`, which run:

    apt-get install -y tesseract-ocr tesseract-ocr-ces tesseract-ocr-deu \
        tesseract-ocr-pol tesseract-ocr-spa tesseract-ocr-fra \
        tesseract-ocr-ita fonts-liberation fonts-freefont-ttf \
        $(.venv/bin/python benchmarks/bench_ocr_quality.py --packages)
    .venv/bin/python benchmarks/bench_ocr_quality.py --minutes 120 --write

trains `BENCH_MODEL` with `BENCH_TRAIN` on generated lines for
`--minutes` (`--mixed-precision` on a GPU), or reuses a run folder with
`--model RUN_DIR` (for example `runs/demo` after `make demo`, which sees
DejaVu only). `--write` replaces the "OCR quality vs Tesseract" section
of benchmarks/RESULTS.md.
"""

import argparse
import collections
import glob
import json
import os
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

LANGUAGES = {
    "en": "eng",
    "cs": "ces",
    "de": "deu",
    "pl": "pol",
    "es": "spa",
    "fr": "fra",
    "it": "ita",
}
TITLE = "OCR quality vs Tesseract"

# Test fonts: every installed face whose file name contains one of these.
TEST_FONTS = ("liberation", "free")

# The recipe: the demo's front end with a second BiLSTM layer, lines of
# one to six words (the test's length: up to 32 characters), the
# renderer's default (full) augmentation.
BENCH_MODEL = {
    "encoder": "bilstm",
    "hidden_dim": 128,
    "num_layers": 2,
    "dropout": 0.1,
    # keras_seq.apps.ocr.demo.DEMO_MODEL's front end.
    "front_end": {
        "filters": (16, 32, 48, 64),
        "pool_after": (0, 1, 2),
        "pool_sizes": ((2, 2), (2, 2), (2, 1)),
    },
}
BENCH_TRAIN = {
    "batch_size": 32,
    "learning_rate": 3e-3,
    "steps_per_epoch": 100,
    "val_size": 256,
    "patience": 1000,
    "sampler_options": {"max_words": 6, "max_chars": 36},
}


def unseen_fonts():
    """Installed faces of the test families (`TEST_FONTS`)."""
    from keras_seq.data import system_fonts

    return sorted(
        f
        for f in system_fonts()
        if any(k in os.path.basename(f).lower() for k in TEST_FONTS)
    )


def training_fonts():
    """The app's "wide" font set, checked against the test fonts."""
    from keras_seq.apps.ocr.fonts import wide_fonts

    fonts = wide_fonts()
    overlap = [
        f
        for f in fonts
        if any(k in os.path.basename(f).lower() for k in TEST_FONTS)
    ]
    if overlap:
        raise SystemExit(f"Test fonts among the training fonts: {overlap}")
    return fonts


def font_families(fonts):
    """Family names in the fonts' name tables ("Liberation Serif")."""
    from keras_seq.data import font_family

    return sorted(
        {font_family(path) or os.path.basename(path) for path in fonts}
    )


def describe_run(run):
    """How the model in `run` was trained, from its summary and config."""
    path = os.path.join(run, "summary.json")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        summary = json.load(f)
    with open(os.path.join(run, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    options = config["train"].get("renderer_options") or {}
    fonts = options.get("fonts")
    families = font_families(fonts) if fonts else ["DejaVu (the default)"]
    model = config["model"]
    described = (
        f"{model['encoder']}, {model['num_layers']} x {model['hidden_dim']} "
        f"units, trained {summary['seconds'] / 60:.0f} min on this machine "
        f"({summary['epochs_total']} epochs, batch "
        f"{config['train']['batch_size']}) on {len(families)} font "
        f"families ({', '.join(families)})"
    )
    start = config["train"].get("init_from")
    if start:
        earlier = describe_run(start) or f"the model in `{start}`"
        described = (
            f"{described}, starting from the weights of `{start}`: "
            f"{earlier}. {_minutes(run):.0f} min of training in all"
        )
    return described


def _minutes(run):
    """Training minutes of `run` and of the runs it started from."""
    path = os.path.join(run, "summary.json")
    if not os.path.isfile(path):
        return 0.0
    with open(path, encoding="utf-8") as f:
        minutes = json.load(f)["seconds"] / 60
    with open(os.path.join(run, "config.json"), encoding="utf-8") as f:
        start = json.load(f)["train"].get("init_from")
    return minutes + (_minutes(start) if start else 0.0)


def real_text_sampler(language, seed, min_words):
    """Lines of words of one language at their real frequency, up to six
    words and 32 characters (the test's lines)."""
    from keras_seq.apps.ocr import data as ocr_data

    return ocr_data.synthetic_sampler(
        (language,),
        seed=seed,
        min_words=min_words,
        max_words=6,
        max_chars=32,
        frequency_power=1.0,
        digit_rate=0.05,
        # Real words only: no made-up elisions, acronyms or CamelCase.
        elision_rate=0.0,
        code_rate=0.0,
    )


def language_models(order, lines, seed=7):
    """A character n-gram LM per language, fitted on generated lines.

    The lines are drawn like the test lines (wordfreq words at their real
    frequency) but from other seeds: the LM knows each language's words
    and spelling, as Tesseract's language data does, not the test lines.
    """
    from keras_seq.ctc import CharNgramLM

    models = {}
    for index, language in enumerate(LANGUAGES):
        sampler = real_text_sampler(language, seed + index, min_words=1)
        rng = np.random.default_rng(seed + index)
        texts = [sampler.sample(rng) for _ in range(lines)]
        models[language] = CharNgramLM(order=order).fit(texts)
    return models


# Beams grow only by ids at least this likely in a frame (about 1e-3).
MIN_LOG_PROB = -7.0


def lm_read(logits, lm, charset, weight, bonus, beam_width):
    """Beam search over one line's logits with the language's LM."""
    from keras_seq.ctc import beam_search_decode

    (result,) = beam_search_decode(
        logits,
        beam_width=beam_width,
        blank_index=charset.blank_index,
        lm=lm,
        lm_weight=weight,
        insertion_bonus=bonus,
        vocabulary=charset.vocabulary,
        min_log_prob=MIN_LOG_PROB,
    )
    return result.text


# The LM reads a line only when the greedy reading's least sure character
# is below this confidence (1.0 and above: always).
GATES = (0.5, 0.8, 0.9, 0.97, 1.01)


def greedy_reading(outputs):
    """Greedy labels and line confidence of one `Recognizer.run` output."""
    from keras_seq.apps.ocr.predict import line_confidence

    length = int(outputs["lengths"][0])
    labels = outputs["labels"][0][:length]
    return labels, line_confidence(outputs["confidences"][0], length)


def tune_lm(reader, lms, samples, grid, beam_width):
    """The (weight, bonus, gate) with the lowest CER on `samples`: `grid`
    holds (weight, bonus) pairs, `GATES` the confidences below which the
    LM takes over from the greedy reading."""
    from keras_seq.metrics import character_error_rate

    outputs = [reader.run(s["image"]) for s in samples]
    greedy = [greedy_reading(o) for o in outputs]
    greedy_texts = [reader.charset.decode(labels) for labels, _ in greedy]
    references = [s["text"] for s in samples]
    scores = {}
    for weight, bonus in grid:
        texts = [
            lm_read(
                o["logits"],
                lms[s["meta"]["language"]],
                reader.charset,
                weight,
                bonus,
                beam_width,
            )
            for o, s in zip(outputs, samples)
        ]
        for gate in GATES:
            chosen = [
                lm_text if confidence < gate else greedy_text
                for lm_text, greedy_text, (_, confidence) in zip(
                    texts, greedy_texts, greedy
                )
            ]
            scores[(weight, bonus, gate)] = character_error_rate(
                references, chosen
            )
    return min(scores, key=scores.get), scores


def prepare_lm(run, args):
    """A logits-emitting .tflite, the LMs, and the weight and bonus chosen
    on validation lines in the training fonts (never the test fonts)."""
    from keras_seq.apps.ocr.model import build_export_model, load_run
    from keras_seq.apps.ocr.predict import Recognizer
    from keras_seq.data import default_fonts
    from keras_seq.metrics import character_error_rate
    from keras_seq.tflite import convert

    model, charset = load_run(run)
    path = os.path.join(args.out, "model_logits.tflite")
    convert(
        build_export_model(
            model, blank_index=charset.blank_index, include_logits=True
        ),
        path,
        sequence_axes=(2,),
    )
    reader = Recognizer(path, charset=charset, num_threads=1)
    lms = language_models(args.lm_order, args.lm_lines)
    with open(os.path.join(run, "config.json"), encoding="utf-8") as f:
        options = json.load(f)["train"].get("renderer_options") or {}
    fonts = options.get("fonts") or default_fonts()
    fonts = [f for f in fonts if os.path.isfile(f)] or default_fonts()
    validation = build_test_set(fonts, 10, seed=4_242)
    samples = validation["clean"] + validation["degraded"]
    grid = [(w, b) for w in (0.25, 0.5, 1.0) for b in (0.0, 1.0, 2.0)]
    setting, scores = tune_lm(reader, lms, samples, grid, args.beam_width)
    greedy = character_error_rate(
        [s["text"] for s in samples],
        [reader.read(s["image"])[0] for s in samples],
    )
    note = (
        f"LM rows: the same network exported with its logits, then prefix "
        f"beam search (width {args.beam_width}, numpy, ids below "
        f"log-probability {MIN_LOG_PROB} in a frame pruned) with a character "
        f"{args.lm_order}-gram LM of the line's language (fitted on "
        f"{args.lm_lines} generated lines per language, other seeds than "
        f"the test), used only on lines whose greedy reading has a "
        f"character less sure than {setting[2]} (1.01: every line), LM "
        f"weight {setting[0]}, insertion bonus {setting[1]} and that "
        f"confidence chosen on {len(samples)} validation lines in the "
        f"training fonts (their CER: greedy {100 * greedy:.2f}%, with "
        f"the LM {100 * scores[setting]:.2f}%)."
    )
    return reader, lms, setting, note


def per_font_table(sets, readings, readers):
    """CER % per test font family, per reader and set (markdown lines)."""
    from keras_seq.data import font_family
    from keras_seq.metrics import character_error_rate

    paths = {
        os.path.splitext(os.path.basename(p))[0]: p for p in unseen_fonts()
    }
    columns = [(key, name) for name in sets for key in readers]
    header = " | ".join(f"{key}, {name}" for key, name in columns)
    lines = [
        "CER % by font family:",
        "",
        f"| font | {header} |",
        "|---" * (len(columns) + 1) + "|",
    ]
    families = sorted(
        {font_family(paths[s["meta"]["font"]]) for s in sets["clean"]}
    )
    for family in families:
        cells = []
        for key, name in columns:
            pairs = [
                (sample["text"], text)
                for sample, text in zip(sets[name], readings[key, name])
                if font_family(paths[sample["meta"]["font"]]) == family
            ]
            cer = character_error_rate(*zip(*pairs))
            cells.append(f"{100 * cer:.2f}")
        lines.append(f"| {family} | {' | '.join(cells)} |")
    return lines


def against_tesseract(sets, readings, readers):
    """Each of our readers' CER over Tesseract's, per set (markdown)."""
    from keras_seq.metrics import character_error_rate

    if "Tesseract" not in readers:
        return []
    ours = [k for k in readers if k != "Tesseract"]
    lines = [
        "Against Tesseract: our CER over Tesseract's on the same lines, "
        "below 1 where we read better (characters: the set's size; one "
        "wrong character adds 100 / characters points of CER).",
        "",
        "| set | characters | " + " | ".join(ours) + " |",
        "|---" * (len(ours) + 2) + "|",
    ]
    for name, samples in sets.items():
        references = [s["text"] for s in samples]
        theirs = character_error_rate(references, readings["Tesseract", name])
        cells = [str(sum(len(r) for r in references))]
        for key in readers:
            if key == "Tesseract":
                continue
            ours = character_error_rate(references, readings[key, name])
            if theirs == 0:
                cells.append("even" if ours == 0 else "worse (theirs 0)")
            else:
                cells.append(f"{ours / theirs:.2f}")
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return lines


def write_errors(sets, readings, path):
    """Every wrong reading: set, reader, font, language, truth, reading."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("set\treader\tfont\tlanguage\ttruth\treading\n")
        for (key, name), texts in readings.items():
            for sample, text in zip(sets[name], texts):
                if text != sample["text"]:
                    meta = sample["meta"]
                    f.write(
                        f"{name}\t{key}\t{meta['font']}\t"
                        f"{meta['language']}\t{sample['text']}\t{text}\n"
                    )


def plot_readings(sets, readings, out):
    """A PNG per set of test lines with our greedy readings under them."""
    from keras_seq.apps.ocr.plots import plot_samples

    for name, samples in sets.items():
        step = max(1, len(samples) // 12)
        picked = list(range(0, len(samples), step))[:12]
        plot_samples(
            [samples[i] for i in picked],
            [readings["ours", name][i] for i in picked],
            os.path.join(out, f"unseen_fonts_{name.replace(' ', '_')}.png"),
        )


def render_sets(fonts, lines_per_language, samplers, names, seed):
    """`names[0]` clean and `names[1]` degraded lines from each language's
    sampler (`samplers`: language -> sampler); list of samples per set."""
    from keras_seq.apps.ocr import data as ocr_data
    from keras_seq.data import LineRenderer

    sets = {name: [] for name in names}
    for index, (language, sampler) in enumerate(samplers.items()):
        for name, augment in zip(names, (False, True)):
            renderer = LineRenderer(
                fonts=fonts, augment=augment, seed=seed + index
            )
            samples = ocr_data.render_samples(
                lines_per_language, sampler, renderer, seed + 100 * index
            )
            for sample in samples:
                sample["meta"]["language"] = language
            sets[name].extend(samples)
    return sets


def build_test_set(fonts, lines_per_language, seed=31_337):
    """Clean and degraded word lines: list of samples per set."""
    samplers = {
        language: real_text_sampler(language, seed + index, min_words=3)
        for index, language in enumerate(LANGUAGES)
    }
    names = ("clean", "degraded")
    return render_sets(fonts, lines_per_language, samplers, names, seed)


# Characters that mark a catalog string as a format or a menu entry
# rather than a sentence.
_NOT_PROSE = set("%{}<>\\_&~|=*#@^`[]\x00\x04")


def mo_strings(path):
    """The (msgid, msgstr) pairs of a gettext .mo catalog."""
    with open(path, "rb") as f:
        data = f.read()
    order = "<" if data[:4] == b"\xde\x12\x04\x95" else ">"
    count, originals, translations = struct.unpack(order + "3I", data[8:20])

    def entry(table, k):
        length, offset = struct.unpack(
            order + "2I", data[table + 8 * k : table + 8 * k + 8]
        )
        return data[offset : offset + length].decode("utf-8", "replace")

    return [(entry(originals, k), entry(translations, k)) for k in range(count)]


def catalog_sentences(language, characters, folder="/usr/share/locale"):
    """Human-written lines of `language` from the machine's translations.

    Debian's programs ship their messages translated into each language
    (`/usr/share/locale/LANG/LC_MESSAGES/*.mo`; English: the original
    messages). Kept: 3 to 6 words, at most 32 characters, every character
    in `characters`, no format or menu markup.
    """
    texts = set()
    for code in LANGUAGES if language == "en" else (language,):
        pattern = os.path.join(folder, code, "LC_MESSAGES", "*.mo")
        for path in sorted(glob.glob(pattern)):
            for msgid, msgstr in mo_strings(path):
                if not msgid or (language != "en" and msgstr == msgid):
                    continue
                text = " ".join((msgid if language == "en" else msgstr).split())
                if (
                    3 <= len(text.split()) <= 6
                    and len(text) <= 32
                    and set(text) <= characters
                    and not set(text) & _NOT_PROSE
                ):
                    texts.add(text)
    return sorted(texts)


class SentenceSampler:
    """Draws lines from a fixed list (the `TextSampler` interface)."""

    def __init__(self, texts):
        self.texts = list(texts)

    def sample(self, rng):
        return self.texts[int(rng.integers(len(self.texts)))]


def build_sentence_sets(fonts, lines_per_language, characters, seed=51_515):
    """Clean and degraded lines of real catalog sentences, or {} when a
    language has none on this machine."""
    samplers = {}
    for language in LANGUAGES:
        texts = catalog_sentences(language, characters)
        if not texts:
            return {}
        samplers[language] = SentenceSampler(texts)
    names = ("sentences clean", "sentences degraded")
    return render_sets(fonts, lines_per_language, samplers, names, seed)


def tesseract_image(image):
    """A line as Tesseract wants it: dark on light, 2x, white margin."""
    from PIL import Image

    pixels = np.clip(255 * (1.0 - image), 0, 255).astype("uint8")
    picture = Image.fromarray(pixels)
    picture = picture.resize(
        (2 * picture.width, 2 * picture.height), Image.BICUBIC
    )
    framed = Image.new("L", (picture.width + 32, picture.height + 32), 255)
    framed.paste(picture, (16, 16))
    return framed


def _tesseract(path, language):
    """Tesseract's text for `path` (an image, or a .txt list of images:
    one page each, pages ended by form feeds), and the seconds it took."""
    environment = dict(os.environ, OMP_THREAD_LIMIT="1")
    start = time.perf_counter()
    result = subprocess.run(
        ["tesseract", path, "stdout", "--psm", "7", "-l", language],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    return result.stdout, time.perf_counter() - start


def tesseract_read(image, language, folder):
    """Tesseract's reading of one line, and the seconds it took: one
    process for the line, as its command line is used."""
    path = os.path.join(folder, "line.png")
    tesseract_image(image).save(path)
    text, seconds = _tesseract(path, language)
    return " ".join(text.split()), seconds


def tesseract_read_batch(samples, folder):
    """Tesseract's readings of `samples` with one process per language
    (its start-up, language data included, shared by all of that
    language's lines), and the seconds all of them took."""
    texts, seconds = [None] * len(samples), 0.0
    by_language = {}
    for index, sample in enumerate(samples):
        by_language.setdefault(sample["meta"]["language"], []).append(index)
    for language, indices in by_language.items():
        paths = []
        for index in indices:
            path = os.path.join(folder, f"batch_{index}.png")
            tesseract_image(samples[index]["image"]).save(path)
            paths.append(path)
        listing = os.path.join(folder, "batch.txt")
        with open(listing, "w", encoding="utf-8") as f:
            f.write("\n".join(paths) + "\n")
        text, spent = _tesseract(listing, LANGUAGES[language])
        seconds += spent
        pages = text.split("\f")
        if len(pages) < len(indices):
            raise RuntimeError(
                f"Tesseract gave {len(pages)} pages for {len(indices)} "
                f"{language} lines"
            )
        for index, page in zip(indices, pages):
            texts[index] = " ".join(page.split())
    return texts, seconds


# Row labels of Tesseract reading one process per line, and reading a
# whole set with one process per language.
PER_LINE_LABEL = "Tesseract 5 `--psm 7`"
BATCH_LABEL = f"{PER_LINE_LABEL}, one process per language"


def speed_lines(ms, differ, lines_per_language):
    """How much faster our greedy LiteRT reads than Tesseract, against
    its one-process-per-line and its one-process-per-language times.

    `ms` maps "ours", "Tesseract" and "batch" to their ms per line, one
    value a set; `differ` counts lines the two Tesseract runs read apart.
    """
    from statistics import mean

    if not all(ms.get(key) for key in ("ours", "Tesseract", "batch")):
        return []
    ours = mean(ms["ours"])
    return [
        "",
        f"Speed: LiteRT (greedy, decoding in its graph) reads a line "
        f"{mean(ms['Tesseract']) / ours:.0f}x faster than Tesseract called "
        f"once per line, as its command line is used (that time includes "
        f"starting the process and loading the language data), and "
        f"{mean(ms['batch']) / ours:.1f}x faster than Tesseract reading "
        f"each set with one process per language ({lines_per_language} "
        f"lines share a start-up). The two Tesseract runs read {differ} "
        f"line(s) differently.",
    ]


def tesseract_languages():
    if shutil.which("tesseract") is None:
        return set()
    result = subprocess.run(
        ["tesseract", "--list-langs"], capture_output=True, text=True
    )
    return set(result.stdout.split())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="a trained run folder to reuse")
    parser.add_argument(
        "--init-from",
        metavar="RUN_DIR",
        help="train starting from this run's weights (fine-tuning)",
    )
    parser.add_argument(
        "--baseline",
        metavar="RUN_DIR",
        help="also read every set greedily with this run (side by side)",
    )
    parser.add_argument("--minutes", type=float, default=120.0)
    parser.add_argument(
        "--learning-rate",
        type=float,
        default=BENCH_TRAIN["learning_rate"],
        help="peak learning rate (warm-up, then cosine decay)",
    )
    parser.add_argument(
        "--mixed-precision",
        action="store_true",
        help="train with mixed_float16 (on a GPU)",
    )
    parser.add_argument("--out", default="runs/bench_ocr")
    parser.add_argument("--lines-per-language", type=int, default=30)
    parser.add_argument(
        "--note", default="", help="more on how a reused --model was trained"
    )
    parser.add_argument("--write", action="store_true")
    parser.add_argument(
        "--lm-order",
        type=int,
        default=6,
        help="characters per n-gram of the per-language LM (0: no LM rows)",
    )
    parser.add_argument("--lm-lines", type=int, default=20_000)
    parser.add_argument("--beam-width", type=int, default=16)
    parser.add_argument(
        "--packages",
        action="store_true",
        help="print the Debian font packages training uses, and exit",
    )
    args = parser.parse_args(argv)
    if args.packages:
        from keras_seq.apps.ocr.fonts import WIDE_FONT_PACKAGES

        print(" ".join(WIDE_FONT_PACKAGES))
        return

    from keras_seq.apps.ocr.export import export
    from keras_seq.apps.ocr.predict import Recognizer
    from keras_seq.apps.ocr.train import train
    from keras_seq.metrics import character_error_rate

    run = args.model
    if run is None:
        run = args.out
        fonts = training_fonts()
        train(
            run,
            synthetic=True,
            epochs=100_000,
            minutes=args.minutes,
            renderer_options={"fonts": fonts},
            **BENCH_MODEL,
            mixed_precision=args.mixed_precision,
            init_from=args.init_from,
            **{**BENCH_TRAIN, "learning_rate": args.learning_rate},
        )
    tflite = os.path.join(args.out, "model.tflite")
    export(run, tflite)
    reader = Recognizer(tflite, num_threads=1)

    fonts = unseen_fonts()
    if not fonts:
        raise SystemExit(
            "No test fonts found: apt-get install fonts-liberation "
            "fonts-freefont-ttf"
        )
    sets = build_test_set(fonts, args.lines_per_language)
    characters = set(reader.charset.characters)
    sets.update(build_sentence_sets(fonts, args.lines_per_language, characters))
    available = tesseract_languages()

    readers = {
        "ours": (
            "keras_seq LiteRT float32, greedy",
            lambda sample: reader.read(sample["image"])[0],
        )
    }
    if args.baseline:
        path = os.path.join(args.out, "baseline.tflite")
        export(args.baseline, path)
        baseline = Recognizer(path, num_threads=1)
        readers["baseline"] = (
            f"baseline `{args.baseline}`, LiteRT float32, greedy",
            lambda sample: baseline.read(sample["image"])[0],
        )
    if args.lm_order:
        lm_reader, lms, lm_setting, lm_note = prepare_lm(run, args)

        def read_with_lm(sample):
            outputs = lm_reader.run(sample["image"])
            labels, confidence = greedy_reading(outputs)
            if confidence >= lm_setting[2]:
                return lm_reader.charset.decode(labels)
            lm = lms[sample["meta"]["language"]]
            weight, bonus, _ = lm_setting
            return lm_read(
                outputs["logits"],
                lm,
                lm_reader.charset,
                weight,
                bonus,
                args.beam_width,
            )

        readers["ours+LM"] = (
            f"keras_seq LiteRT float32 + {args.lm_order}-gram LM beam "
            f"{args.beam_width}",
            read_with_lm,
        )
    folder = tempfile.mkdtemp()
    needed = {LANGUAGES[s["meta"]["language"]] for s in sets["clean"]}
    if needed <= available:
        readers["Tesseract"] = (
            PER_LINE_LABEL,
            lambda s: tesseract_read(
                s["image"], LANGUAGES[s["meta"]["language"]], folder
            )[0],
        )

    rows, readings, ms_per_line, differ = (
        [],
        {},
        collections.defaultdict(list),
        0,
    )
    for name, samples in sets.items():
        references = [s["text"] for s in samples]
        for key, (label, read) in readers.items():
            texts, seconds = [], []
            for sample in samples:
                start = time.perf_counter()
                texts.append(read(sample))
                seconds.append(time.perf_counter() - start)
            readings[key, name] = texts
            ms_per_line[key].append(1000 * float(np.mean(seconds)))
            rows.append(
                (
                    f"{label}, {name}",
                    character_error_rate(references, texts),
                    ms_per_line[key][-1],
                )
            )
        if "Tesseract" not in readers:
            rows.append(
                (f"Tesseract, {name}: not run (needs {needed})", None, None)
            )
            continue
        texts, seconds = tesseract_read_batch(samples, folder)
        differ += sum(
            a != b for a, b in zip(texts, readings["Tesseract", name])
        )
        ms_per_line["batch"].append(1000 * seconds / len(samples))
        rows.append(
            (
                f"{BATCH_LABEL}, {name}",
                character_error_rate(references, texts),
                ms_per_line["batch"][-1],
            )
        )
    shutil.rmtree(folder, ignore_errors=True)
    plot_readings(sets, readings, args.out)
    write_errors(sets, readings, os.path.join(args.out, "errors.tsv"))

    font_names = ", ".join(font_families(fonts))
    described = describe_run(run) or f"the model in `{run}`"
    described = f"{described} {args.note}".strip()
    lines = [
        f"Model: {described}. Test: "
        f"{args.lines_per_language} lines per language x "
        f"{len(LANGUAGES)} languages, per set, in fonts never seen in "
        f"training ({font_names}).",
    ]
    if "sentences clean" in sets:
        lines += [
            "",
            "The sentence sets: human-written lines, the messages of the "
            "machine's programs as their translators wrote them (gettext "
            "catalogs under /usr/share/locale; English: the originals), 3 "
            "to 6 words and at most 32 characters, in the same fonts.",
        ]
    if "ours+LM" in readers:
        lines += ["", lm_note]
    lines += [
        "",
        "| reader, set | CER % | ms / line |",
        "|---|---|---|",
    ]
    for label, cer, ms in rows:
        if cer is None:
            lines.append(f"| {label} | | |")
        else:
            lines.append(f"| {label} | {100 * cer:.2f} | {ms:.1f} |")
    words = {name: sets[name] for name in ("clean", "degraded")}
    lines += ["", *per_font_table(words, readings, readers)]
    lines += ["", *against_tesseract(sets, readings, readers)]
    lines += speed_lines(ms_per_line, differ, args.lines_per_language)
    body = "\n".join(lines)
    print(body)
    if args.write:
        from results import write_section

        command = "python benchmarks/bench_ocr_quality.py " + shlex.join(
            argv if argv is not None else sys.argv[1:]
        )
        write_section(TITLE, body, command.strip())


if __name__ == "__main__":
    main()
