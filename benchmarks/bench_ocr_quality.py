"""OCR quality and speed against Tesseract 5, on lines in unseen fonts.

The test set: lines of real words (wordfreq, sampled by their real
frequency) in English, Czech, German, Polish, Spanish, French and Italian,
rendered in the machine's fonts that are NOT DejaVu (training only ever
sees DejaVu), clean and degraded (the renderer's augmentation: blur,
noise, rotation, shear, contrast, JPEG, texture). Each line is read by
our float32 LiteRT model (1 thread) and by Tesseract (`--psm 7`, the
line's own language data, `OMP_THREAD_LIMIT=1`, one command-line call per
line, the image given dark on light at 2x with a white margin since
Tesseract wants larger text). CER and ms per line, side by side.

The documented recipe (a longer CPU run than `make demo`):

    apt-get install -y tesseract-ocr tesseract-ocr-ces tesseract-ocr-deu \
        tesseract-ocr-pol tesseract-ocr-spa tesseract-ocr-fra \
        tesseract-ocr-ita fonts-liberation fonts-freefont-ttf
    .venv/bin/python benchmarks/bench_ocr_quality.py --minutes 120 --write

trains the demo model (`keras_seq.apps.ocr.demo.DEMO_MODEL`) on generated
lines for `--minutes`, or reuses a run folder with `--model RUN_DIR`
(for example `runs/demo` after `make demo`). `--write` replaces the
"OCR quality vs Tesseract" section of benchmarks/RESULTS.md.
"""

import argparse
import os
import shlex
import shutil
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


def unseen_fonts():
    """Installed fonts that training never used (no DejaVu)."""
    from keras_seq.data import system_fonts

    fonts = [f for f in system_fonts() if "dejavu" not in f.lower()]
    # Latin text fonts only: symbol and CJK faces would not cover the text.
    keep = ("liberation", "free")
    return sorted(f for f in fonts if any(k in f.lower() for k in keep))


def font_families(fonts):
    """Family names of font files ("FreeSans-Bold.ttf": "FreeSans")."""
    families = set()
    for path in fonts:
        name = os.path.splitext(os.path.basename(path))[0].split("-")[0]
        for style in ("BoldOblique", "BoldItalic", "Bold", "Oblique", "Italic"):
            name = name.removesuffix(style)
        families.add(name)
    return sorted(families)


def build_test_set(fonts, lines_per_language, seed=31_337):
    """Clean and degraded lines: list of dicts per set."""
    from keras_seq.apps.ocr import data as ocr_data
    from keras_seq.data import LineRenderer

    sets = {"clean": [], "degraded": []}
    for index, language in enumerate(LANGUAGES):
        sampler = ocr_data.synthetic_sampler(
            (language,),
            seed=seed + index,
            min_words=3,
            max_words=6,
            max_chars=32,
            frequency_power=1.0,
            digit_rate=0.05,
        )
        for name, augment in (("clean", False), ("degraded", True)):
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


def tesseract_read(image, language, folder):
    """Tesseract's reading of one line, and the seconds it took."""
    from PIL import Image

    pixels = np.clip(255 * (1.0 - image), 0, 255).astype("uint8")
    picture = Image.fromarray(pixels)
    picture = picture.resize(
        (2 * picture.width, 2 * picture.height), Image.BICUBIC
    )
    framed = Image.new("L", (picture.width + 32, picture.height + 32), 255)
    framed.paste(picture, (16, 16))
    path = os.path.join(folder, "line.png")
    framed.save(path)
    environment = dict(os.environ, OMP_THREAD_LIMIT="1")
    start = time.perf_counter()
    result = subprocess.run(
        ["tesseract", path, "stdout", "--psm", "7", "-l", language],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    seconds = time.perf_counter() - start
    return " ".join(result.stdout.split()), seconds


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
    parser.add_argument("--minutes", type=float, default=120.0)
    parser.add_argument("--out", default="runs/bench_ocr")
    parser.add_argument("--lines-per-language", type=int, default=30)
    parser.add_argument(
        "--note", default="", help="how a reused --model was trained"
    )
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)

    from keras_seq.apps.ocr.demo import DEMO_MODEL, DEMO_TRAIN
    from keras_seq.apps.ocr.export import export
    from keras_seq.apps.ocr.predict import Recognizer
    from keras_seq.apps.ocr.train import train
    from keras_seq.metrics import character_error_rate

    run = args.model
    trained = None
    if run is None:
        run = args.out
        trained = train(
            run,
            synthetic=True,
            epochs=100_000,
            minutes=args.minutes,
            **DEMO_MODEL,
            **DEMO_TRAIN,
        )
    tflite = os.path.join(args.out, "model.tflite")
    export(run, tflite)
    reader = Recognizer(tflite, num_threads=1)

    fonts = unseen_fonts()
    if not fonts:
        raise SystemExit(
            "No non-DejaVu fonts found: apt-get install fonts-liberation "
            "fonts-freefont-ttf"
        )
    sets = build_test_set(fonts, args.lines_per_language)
    available = tesseract_languages()

    rows = []
    for name, samples in sets.items():
        references = [s["text"] for s in samples]
        ours, seconds = [], []
        for sample in samples:
            start = time.perf_counter()
            ours.append(reader.read(sample["image"])[0])
            seconds.append(time.perf_counter() - start)
        rows.append(
            (
                f"keras_seq LiteRT float32, {name}",
                character_error_rate(references, ours),
                1000 * float(np.mean(seconds)),
            )
        )
        missing = {
            LANGUAGES[s["meta"]["language"]] for s in samples
        } - available
        if missing:
            rows.append((f"Tesseract, {name}: not run ({missing})", None, None))
            continue
        theirs, seconds = [], []
        with tempfile.TemporaryDirectory() as folder:
            for sample in samples:
                language = LANGUAGES[sample["meta"]["language"]]
                text, took = tesseract_read(sample["image"], language, folder)
                theirs.append(text)
                seconds.append(took)
        rows.append(
            (
                f"Tesseract 5 `--psm 7`, {name}",
                character_error_rate(references, theirs),
                1000 * float(np.mean(seconds)),
            )
        )

    font_names = ", ".join(font_families(fonts))
    budget = (
        f"trained {trained['seconds'] / 60:.0f} min on this machine "
        f"({trained['epochs_total']} epochs of "
        f"{DEMO_TRAIN['steps_per_epoch']} steps of "
        f"{DEMO_TRAIN['batch_size']} lines)"
        if trained
        else f"the model in `{run}` {args.note}".strip()
    )
    lines = [
        f"Model: {budget}, DejaVu fonts only. Test: "
        f"{args.lines_per_language} lines per language x "
        f"{len(LANGUAGES)} languages, per set, in fonts never seen in "
        f"training ({font_names}).",
        "",
        "| reader, set | CER % | ms / line |",
        "|---|---|---|",
    ]
    for label, cer, ms in rows:
        if cer is None:
            lines.append(f"| {label} | | |")
        else:
            lines.append(f"| {label} | {100 * cer:.2f} | {ms:.1f} |")
    if trained is None:
        lines += [
            "",
            "A reused model: the documented recipe (this script without "
            "`--model`) trains for `--minutes` (default 120) first.",
        ]
    ours = [r for r in rows if r[0].startswith("keras_seq") and r[2]]
    theirs = [r for r in rows if r[0].startswith("Tesseract") and r[2]]
    if ours and theirs:
        ratio = np.mean([r[2] for r in theirs]) / np.mean([r[2] for r in ours])
        lines += [
            "",
            f"LiteRT reads a line {ratio:.0f}x faster than Tesseract here "
            "(Tesseract's time includes starting its process for each line, "
            "as its command line does).",
        ]
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
