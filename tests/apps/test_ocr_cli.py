"""`keras-seq ocr`: train -> interrupt -> resume -> evaluate -> export ->
predict (Keras and .tflite agree), and bad input."""

import collections
import csv
import json
import os
import shutil

import keras
import numpy as np
import pytest
from PIL import Image

from keras_seq import cli
from keras_seq.apps.ocr import data as ocr_data
from keras_seq.apps.ocr.callbacks import Interrupt
from keras_seq.apps.ocr.train import train
from keras_seq.data import LineRenderer, default_fonts
from keras_seq.data.charset import Charset

TINY_MODEL = {"hidden_dim": 8, "num_layers": 1}
TINY_ARGS = ["--hidden-dim", "8", "--num-layers", "1", "--batch-size", "8"]


def _save_line(path, image):
    """Saves an ink-1 line image the way scans come: dark on light."""
    pixels = np.clip(255 * (1.0 - image), 0, 255).astype("uint8")
    Image.fromarray(pixels).save(path)


def _write_folder(folder, count=24, seed=0):
    """A labelled folder: PNG lines, lines.tsv with a font column."""
    os.makedirs(os.path.join(folder, "img"), exist_ok=True)
    sampler = ocr_data.synthetic_sampler(
        ("en",), seed=seed, max_words=2, max_chars=12
    )
    renderer = ocr_data.default_renderer(augment=False)
    samples = ocr_data.render_samples(count, sampler, renderer, seed)
    rows = ["path\ttext\tfont"]
    for i, sample in enumerate(samples):
        name = f"img/{i:03d}.png"
        _save_line(os.path.join(folder, name), sample["image"])
        rows.append(f"{name}\t{sample['text']}\t{sample['meta']['font']}")
    with open(os.path.join(folder, "lines.tsv"), "w", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")
    return samples


def _history_epochs(run):
    with open(os.path.join(run, "history.csv"), encoding="utf-8") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def test_train_resume_evaluate_export_predict(tmp_path, capsys):
    data = str(tmp_path / "data")
    run = str(tmp_path / "run")
    _write_folder(data)

    # An interruption at the start of the second epoch: the first epoch's
    # state is in the backup.
    with pytest.raises(KeyboardInterrupt):
        train(
            run,
            data=data,
            epochs=2,
            batch_size=8,
            callbacks=[Interrupt(epoch=1)],
            verbose=0,
            **TINY_MODEL,
        )
    assert _history_epochs(run) == [0]
    assert os.path.isdir(os.path.join(run, "backup"))

    # The same command again resumes at epoch 1: nothing repeated.
    code = cli.main(
        ["ocr", "train", "--data", data, "--out", run, "--epochs", "2"]
        + TINY_ARGS
    )
    assert code == 0
    # The progress bar comes first, then the summary as JSON.
    out = capsys.readouterr().out
    summary = json.loads(out[out.rindex("\n{\n") + 1 :])
    assert summary["resumed"] is True
    assert summary["epochs_run"] == 1
    assert _history_epochs(run) == [0, 1]
    # The training clock continued from the first run's minutes.
    with open(os.path.join(run, "history.csv"), encoding="utf-8") as f:
        minutes = [float(row["minutes"]) for row in csv.DictReader(f)]
    assert 0 < minutes[0] <= minutes[1] <= summary["minutes_trained"]
    assert not os.path.isdir(os.path.join(run, "backup"))
    for name in ("model.keras", "charset.json", "training.png"):
        assert os.path.isfile(os.path.join(run, name)), name
    charset = Charset.load(os.path.join(run, "charset.json"))
    assert charset.blank_index == 0

    # Evaluate: overall and per font.
    report = str(tmp_path / "eval.json")
    assert (
        cli.main(
            [
                "ocr",
                "evaluate",
                "--model",
                run,
                "--data",
                data,
                "--json",
                report,
            ]
        )
        == 0
    )
    assert "font=" in capsys.readouterr().out
    with open(report, encoding="utf-8") as f:
        results = json.load(f)
    assert results["lines"] == 24
    assert 0.0 <= results["cer"]
    assert sum(v["lines"] for v in results["by"]["font"].values()) == 24

    # Export, then predict with both: the same text and confidence.
    tflite = str(tmp_path / "model.tflite")
    assert cli.main(["ocr", "export", "--model", run, "--out", tflite]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert not [op for op in exported["ops"] if not op.isupper()]
    assert os.path.isfile(str(tmp_path / "model.charset.json"))

    # An unreadable image is reported; the others are still read.
    images = os.path.join(data, "img")
    bad = str(tmp_path / "bad.png")
    with open(bad, "wb") as f:
        f.write(b"not an image")
    assert cli.main(["ocr", "predict", "--model", run, bad, images]) == 1
    captured = capsys.readouterr()
    assert "bad.png" in captured.err
    keras_lines = captured.out.splitlines()
    assert cli.main(["ocr", "predict", "--model", tflite, images]) == 0
    tflite_lines = capsys.readouterr().out.splitlines()
    assert len(keras_lines) == 24
    for k, t in zip(keras_lines, tflite_lines):
        k_path, k_text, k_conf = k.split("\t")
        t_path, t_text, t_conf = t.split("\t")
        assert (k_path, k_text) == (t_path, t_text)
        assert abs(float(k_conf) - float(t_conf)) < 1e-3


def test_bad_files_are_skipped_and_counted(tmp_path):
    folder = tmp_path / "bad"
    (folder / "img").mkdir(parents=True)
    good = np.zeros((32, 60), "float32")
    good[10:20, 5:50] = 1.0
    _save_line(folder / "img/good.png", good)
    _save_line(folder / "img/wide.png", np.zeros((32, 9000), "float32"))
    (folder / "img/empty.png").write_bytes(b"")
    (folder / "img/corrupt.png").write_bytes(b"\x89PNG not really")
    # A PNG header that claims zero width.
    content = bytearray((folder / "img/good.png").read_bytes())
    content[16:20] = (0).to_bytes(4, "big")
    (folder / "img/zero.png").write_bytes(bytes(content))
    rows = [
        "img/good.png\tok",
        "img/good.png\tnot in the charset: ☃",
        "img/missing.png\tgone",
        "img/empty.png\tempty",
        "img/corrupt.png\tcorrupt",
        "img/zero.png\tzero",
        "img/wide.png\twide",
        "img/good.png\t",
        "a line without a tab",
    ]
    (folder / "lines.tsv").write_text("\n".join(rows), encoding="utf-8")

    charset = Charset("abcdefghijklmnopqrstuvwxyz :")
    samples, skipped = ocr_data.read_folder(str(folder), charset=charset)
    assert [s["text"] for s in samples] == ["ok"]
    # Zero width and no bytes read as empty, bad bytes as corrupt.
    assert dict(skipped) == {
        "unknown_characters": 1,
        "missing_image": 1,
        "empty_image": 2,
        "corrupt_image": 1,
        "too_wide": 1,
        "empty_text": 1,
        "malformed_line": 1,
    }
    # The dark-on-light PNG reads back as ink 1 on background 0.
    assert samples[0]["image"][15, 20] > 0.9
    assert samples[0]["image"][2, 2] < 0.1


def test_lines_too_narrow_for_their_text_are_skipped_in_batches():
    charset = Charset("ab")
    samples = [
        {"image": np.ones((32, 40), "float32"), "text": "ab"},
        {"image": np.ones((32, 3), "float32"), "text": "abab"},
        {"image": np.ones((32, 0), "float32"), "text": "a"},
    ]
    skipped = collections.Counter()
    dataset = ocr_data.make_dataset(
        samples, charset, batch_size=4, frame_stride=4, skipped=skipped
    )
    batches = list(dataset)
    assert len(batches) == 1
    inputs, labels = batches[0]
    assert labels.numpy().tolist() == [[1, 2]]
    assert inputs["image"].shape == (1, 32, 40, 1)
    assert dict(skipped) == {"too_few_frames": 1, "bad_image": 1}


def test_non_utf8_lines_tsv_is_a_clear_error(tmp_path):
    (tmp_path / "lines.tsv").write_bytes(b"a.png\tok\nb.png\t\xff\xfe bad\n")
    with pytest.raises(ValueError, match="line 2 is not UTF-8"):
        ocr_data.read_folder(str(tmp_path))


def test_cli_reports_missing_data_without_a_traceback(tmp_path, capsys):
    code = cli.main(
        ["ocr", "train", "--data", str(tmp_path), "--out", str(tmp_path / "r")]
    )
    assert code == 2
    assert "No lines.tsv" in capsys.readouterr().err
    code = cli.main(["ocr", "predict", "--model", str(tmp_path), "x.png"])
    assert code == 2
    assert "No trained model" in capsys.readouterr().err


def test_train_font_and_line_options(tmp_path, monkeypatch):
    """--font-dir/--exclude-fonts pick the fonts of training and validation
    lines; --max-words/--max-chars shape the generated text."""
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    by_name = {os.path.basename(p): p for p in default_fonts()}
    shutil.copy(by_name["DejaVuSerif-Bold.ttf"], fonts / "kept.ttf")
    shutil.copy(by_name["DejaVuSans.ttf"], fonts / "held_out.ttf")
    renderers = []

    def recording_renderer(*args, **kwargs):
        renderer = LineRenderer(*args, **kwargs)
        renderers.append(renderer)
        return renderer

    monkeypatch.setattr(ocr_data, "default_renderer", recording_renderer)
    run = str(tmp_path / "run")
    code = cli.main(
        ["ocr", "train", "--synthetic", "--languages", "en", "--out", run]
        + ["--font-dir", str(fonts), "--exclude-fonts", "HELD_OUT"]
        + ["--max-words", "2", "--max-chars", "10", "--epochs", "1"]
        + ["--steps-per-epoch", "2", "--val-size", "8"]
        + TINY_ARGS
    )
    assert code == 0
    assert len(renderers) == 2  # training (augmented) and validation
    assert [r.augment for r in renderers] == [True, False]
    for renderer in renderers:
        assert renderer.font_paths == [str(fonts / "kept.ttf")]
    with open(os.path.join(run, "config.json"), encoding="utf-8") as f:
        config = json.load(f)["train"]
    assert config["renderer_options"] == {
        "font_dir": str(fonts),
        "exclude_fonts": ["HELD_OUT"],
    }
    assert config["sampler_options"] == {"max_words": 2, "max_chars": 10}


class _WeightsAfter(keras.callbacks.Callback):
    """Records the model's weights after batch `batch` of epoch `epoch`."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.epoch, self.batch = epoch, batch
        self.weights = None
        self._current = None

    def on_epoch_begin(self, epoch, logs=None):
        self._current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self._current, batch) == (self.epoch, self.batch):
            self.weights = self.model.get_weights()


def test_an_interruption_mid_epoch_loses_at_most_the_batches_since_backup(
    tmp_path, monkeypatch
):
    from keras_seq.apps import training

    monkeypatch.setattr(training, "BACKUP_EVERY", 2)
    data = str(tmp_path / "data")
    _write_folder(data, count=48)
    run = str(tmp_path / "run")
    # A backup at each epoch's end and every 2 batches within it; the
    # interruption comes before batch 3 of epoch 1, so the last backup is
    # the one after epoch 1's batch 1.
    saved = _WeightsAfter(epoch=1, batch=1)
    with pytest.raises(KeyboardInterrupt):
        train(
            run,
            data=data,
            epochs=3,
            batch_size=8,
            callbacks=[saved, Interrupt(epoch=1, batch=3)],
            verbose=0,
            **TINY_MODEL,
        )
    assert saved.weights is not None
    recorder = _FirstWeights()
    summary = train(
        run,
        data=data,
        epochs=3,
        batch_size=8,
        callbacks=[recorder],
        verbose=0,
        **TINY_MODEL,
    )
    assert summary["resumed"]
    for got, want in zip(recorder.weights, saved.weights, strict=True):
        np.testing.assert_array_equal(got, want)
    # Epoch 1 restarted from its first batch, once in the history.
    assert _history_epochs(run) == [0, 1, 2]


class _FirstWeights(keras.callbacks.Callback):
    """Records the model's weights when training begins."""

    weights = None

    def on_train_begin(self, logs=None):
        self.weights = self.model.get_weights()


def test_init_from_starts_from_a_runs_weights(tmp_path):
    from keras_seq.apps.ocr.model import load_run

    data = str(tmp_path / "data")
    _write_folder(data, count=16)
    first = str(tmp_path / "first")
    train(first, data=data, epochs=1, batch_size=8, verbose=0, **TINY_MODEL)
    source, source_charset = load_run(first)

    # The second run takes the first's architecture even though other
    # model arguments are passed, and starts at its weights.
    second = str(tmp_path / "second")
    recorder = _FirstWeights()
    train(
        second,
        data=data,
        epochs=1,
        batch_size=8,
        verbose=0,
        hidden_dim=16,
        init_from=first,
        callbacks=[recorder],
    )
    start = recorder.weights
    assert len(start) == len(source.get_weights())
    for got, want in zip(start, source.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    tuned, charset = load_run(second)
    assert charset.characters == source_charset.characters
    assert tuned.count_params() == source.count_params()
    with open(os.path.join(second, "config.json"), encoding="utf-8") as f:
        assert json.load(f)["train"]["init_from"] == first

    # Generated lines the first run cannot spell: a clear error up front.
    with pytest.raises(ValueError, match="cannot output"):
        train(
            str(tmp_path / "third"),
            synthetic=True,
            languages=["cs"],
            epochs=1,
            init_from=first,
            verbose=0,
        )
    with pytest.raises(FileNotFoundError, match="init_from"):
        train(
            str(tmp_path / "fourth"),
            data=data,
            epochs=1,
            init_from=data,
            verbose=0,
        )


def test_mixed_precision_and_mirrored_training_export_float32(tmp_path):
    """The GPU options run on CPU too: mixed_float16 under a one-device
    MirroredStrategy trains, and the run loads and exports in float32."""
    from keras_seq.apps.ocr.export import export
    from keras_seq.apps.ocr.model import load_run

    data = str(tmp_path / "data")
    _write_folder(data, count=16)
    run = str(tmp_path / "run")
    summary = train(
        run,
        data=data,
        epochs=1,
        batch_size=8,
        mixed_precision=True,
        strategy="mirrored",
        verbose=0,
        **TINY_MODEL,
    )
    assert np.isfinite(summary["best_val_cer"])
    # The policy is restored for whatever runs next.
    assert keras.config.dtype_policy().name == "float32"
    model, _ = load_run(run)
    assert model.get_layer("front_end").compute_dtype == "float32"
    report = export(run, str(tmp_path / "model.tflite"))
    assert all(op.isupper() for op in report["ops"]), report["ops"]
