"""`keras-seq ocr train`: fit the OCR model, resumable, with a time budget.

Everything lands in the run folder:

- `model.keras`: the best model so far (lowest validation CER);
- `charset.json`: the characters, id 0 being the CTC blank;
- `config.json`: the model and training settings;
- `backup/`: the training state (weights, optimizer, epoch), saved every
  50 batches, from which an interrupted run resumes when started again
  with the same `--out` (the time budget and learning-rate schedule
  continue too); removed when training ends normally;
- `logs/`: TensorBoard logs; `history.csv`: one row per epoch;
- `training.png`: the curves; `summary.json`: what the run did.
"""

import collections
import csv
import json
import logging
import os
import time
import warnings

import keras
import numpy as np

from keras_seq.apps.ocr import data as ocr_data
from keras_seq.apps.ocr.callbacks import ValidationErrorRates
from keras_seq.apps.ocr.defaults import (
    BACKUP_DIR,
    CHARSET_FILE,
    CONFIG_FILE,
    HISTORY_FILE,
    LOG_DIR,
    MODEL_FILE,
    SUMMARY_FILE,
)
from keras_seq.apps.ocr.model import build_ocr_model, frame_stride
from keras_seq.apps.training import (
    TimeBudget,
    backup_and_restore,
    minutes_so_far,
)
from keras_seq.ctc import CTCLoss
from keras_seq.data.charset import Charset

logger = logging.getLogger(__name__)

# The app's front end halves the height three times but the width only
# twice: frames = width // 4, two to four frames per character of a
# 32-pixel line, so CTC always has room for blanks between repeats.
FRONT_END = {
    "filters": (24, 24, 48, 48, 96, 96),
    "pool_after": (1, 3, 5),
    "pool_sizes": ((2, 2), (2, 2), (2, 1)),
}
STEPS_PER_SYNTHETIC_EPOCH = 200


def _has_tensorboard():
    import importlib.util

    return importlib.util.find_spec("tensorboard") is not None


def _history_rows(path):
    if not os.path.isfile(path):
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _best_so_far(rows, key="val_cer"):
    values = []
    for row in rows:
        try:
            values.append(float(row[key]))
        except (KeyError, TypeError, ValueError):
            continue
    return min(values) if values else None


def _load_data(
    data,
    synthetic,
    val_data,
    languages,
    height,
    val_size,
    seed,
    charset,
    skipped,
    renderer_options,
    sampler_options,
):
    """Training source, validation samples and charset."""
    if synthetic:
        sampler = ocr_data.synthetic_sampler(
            languages, seed=seed, **(sampler_options or {})
        )
        if charset is None:
            charset = sampler.charset()
        renderer = ocr_data.default_renderer(
            height, augment=True, seed=seed, **(renderer_options or {})
        )
        # Validation: clean lines from their own seed, never trained on.
        val_sampler = ocr_data.synthetic_sampler(
            languages, seed=seed + 1, **(sampler_options or {})
        )
        # The same fonts as training, without augmentation.
        font_options = {
            k: v
            for k, v in (renderer_options or {}).items()
            if k != "augmentation"
        }
        val_renderer = ocr_data.default_renderer(
            height, augment=False, **font_options
        )
        val_samples = ocr_data.render_samples(
            val_size, val_sampler, val_renderer, seed + 1
        )
        return ("stream", sampler, renderer), val_samples, charset

    samples, read_skipped = ocr_data.read_folder(data, height, charset)
    skipped.update(read_skipped)
    if val_data:
        val_samples, val_skipped = ocr_data.read_folder(
            val_data, height, charset
        )
        skipped.update({f"validation: {k}": v for k, v in val_skipped.items()})
    else:
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(samples))
        count = min(val_size, max(1, len(samples) // 10))
        val_samples = [samples[i] for i in order[:count]]
        samples = [samples[i] for i in order[count:]]
    if not samples:
        raise ValueError(
            f"No usable training lines in {data!r}. Skipped: {dict(skipped)}"
        )
    if charset is None:
        charset = ocr_data.charset_for(samples + val_samples)
    return samples, val_samples, charset


def _starting_point(init_from):
    """Architecture, charset and weights of the run `init_from`."""
    from keras_seq.apps.ocr.model import load_run

    config_path = os.path.join(init_from, CONFIG_FILE)
    if not os.path.isfile(config_path):
        raise FileNotFoundError(
            f"`init_from` must be a run folder written by `train` (with "
            f"{CONFIG_FILE}); no {config_path}. Received: "
            f"init_from={init_from!r}"
        )
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)["model"]
    model, charset = load_run(init_from)
    return config, charset, model.get_weights()


def train(
    out,
    data=None,
    synthetic=False,
    val_data=None,
    languages=None,
    epochs=100,
    minutes=None,
    batch_size=32,
    learning_rate=1e-3,
    steps_per_epoch=None,
    val_size=256,
    patience=10,
    mixed_precision=False,
    strategy="default",
    seed=0,
    encoder="bilstm",
    hidden_dim=None,
    num_layers=2,
    height=32,
    dropout=0.1,
    front_end=None,
    renderer_options=None,
    sampler_options=None,
    init_from=None,
    callbacks=None,
    verbose="auto",
):
    """Trains the OCR model; resumes an interrupted run in `out`.

    Args:
        out: the run folder.
        data: folder holding `lines.tsv` (or use `synthetic=True`).
        synthetic: train on generated lines (augmented; the DejaVu fonts
            unless `renderer_options` names others).
        val_data: validation folder; default: a split of `data` (or
            generated clean lines with `synthetic`).
        languages: wordfreq languages of generated lines.
        epochs: int, most epochs.
        minutes: optional float, time budget; the learning rate then
            follows a warm-up and cosine decay over the budget. A resumed
            run continues both where the interrupted one stopped.
        batch_size: int.
        learning_rate: float, the (peak) Adam learning rate.
        steps_per_epoch: batches per epoch (default: one pass over `data`,
            or 200 with `synthetic`).
        val_size: validation lines generated, or split from `data`.
        patience: epochs without a better validation CER before stopping.
        mixed_precision: train with the `mixed_float16` policy.
        strategy: `"default"` or `"mirrored"` (`tf.distribute`).
        seed: int, seeds data, weights and shuffling.
        encoder, hidden_dim, num_layers, height, dropout, front_end: the
            model (see `build_ocr_model`).
        renderer_options: dict of `LineRenderer` arguments (synthetic):
            `fonts`, `font_dir`, `system_fonts`, `exclude_fonts` choose
            the fonts of training and validation lines, `augmentation`
            the training lines' augmentation.
        sampler_options: dict of `TextSampler` arguments (synthetic).
        init_from: optional run folder of an earlier `train` to start
            from (fine-tuning): its architecture, charset and weights are
            taken, and `encoder`, `hidden_dim`, `num_layers`, `height`,
            `dropout` and `front_end` are ignored. Generated lines must
            fit its charset; lines of `data` outside it are skipped and
            counted. The optimizer starts afresh (warm-up included with
            `minutes`). A resumed run ignores it: its backup wins.
        callbacks: extra Keras callbacks.
        verbose: `model.fit` verbosity.

    Returns:
        A dict summary (also written to `summary.json`).
    """
    import tensorflow as tf

    if (data is None) == (not synthetic):
        raise ValueError(
            "Give exactly one of `data` and `synthetic=True`. Received: "
            f"data={data!r}, synthetic={synthetic!r}"
        )
    if strategy not in ("default", "mirrored"):
        raise ValueError(
            "`strategy` must be 'default' or 'mirrored'. Received: "
            f"strategy={strategy!r}"
        )
    os.makedirs(out, exist_ok=True)
    started = time.monotonic()
    keras.utils.set_random_seed(seed)
    charset_path = os.path.join(out, CHARSET_FILE)
    history_path = os.path.join(out, HISTORY_FILE)
    resuming = os.path.isdir(os.path.join(out, BACKUP_DIR))
    charset = Charset.load(charset_path) if resuming else None
    rows = _history_rows(history_path) if resuming else []
    initial_weights = None
    if init_from is not None:
        init_config, init_charset, initial_weights = _starting_point(init_from)
        encoder, hidden_dim = init_config["encoder"], init_config["hidden_dim"]
        num_layers, height = init_config["num_layers"], init_config["height"]
        dropout, front_end = init_config["dropout"], init_config["front_end"]
        charset = charset or init_charset
        if synthetic:
            wanted = ocr_data.synthetic_sampler(
                languages, seed=seed, **(sampler_options or {})
            ).charset()
            extra = sorted(
                set(wanted.characters) - set(init_charset.characters)
            )
            if extra:
                raise ValueError(
                    f"Generated lines would use characters the run "
                    f"{init_from!r} cannot output: {''.join(extra)!r}. "
                    f"Received: languages={languages!r}, "
                    f"sampler_options={sampler_options!r}"
                )

    # Data. A resumed run draws fresh generated lines, not a replay.
    skipped = collections.Counter()
    source, val_samples, charset = _load_data(
        data,
        synthetic,
        val_data,
        languages,
        height,
        val_size,
        seed,
        charset,
        skipped,
        renderer_options,
        sampler_options,
    )
    charset.save(charset_path)
    stride = frame_stride(front_end or FRONT_END)
    if isinstance(source, tuple):
        _, sampler, renderer = source
        train_ds = ocr_data.make_synthetic_dataset(
            sampler,
            renderer,
            charset,
            batch_size,
            stride,
            seed=seed + 1000 * (len(rows) + 1),
            skipped=skipped,
        )
        steps_per_epoch = steps_per_epoch or STEPS_PER_SYNTHETIC_EPOCH
        num_train = None
    else:
        train_ds = ocr_data.make_dataset(
            source,
            charset,
            batch_size,
            stride,
            shuffle=True,
            seed=seed,
            skipped=skipped,
        )
        num_train = len(source)
    val_ds = ocr_data.make_dataset(val_samples, charset, batch_size, stride)

    config = {
        "num_classes": charset.num_classes,
        "height": height,
        "encoder": encoder,
        "hidden_dim": hidden_dim,
        "num_layers": num_layers,
        "dropout": dropout,
        "front_end": front_end or FRONT_END,
    }
    with open(os.path.join(out, CONFIG_FILE), "w", encoding="utf-8") as f:
        json.dump(
            {
                "model": config,
                "train": {
                    "data": data,
                    "synthetic": synthetic,
                    "languages": languages,
                    "batch_size": batch_size,
                    "learning_rate": learning_rate,
                    "seed": seed,
                    "mixed_precision": mixed_precision,
                    "renderer_options": renderer_options,
                    "sampler_options": sampler_options,
                    "init_from": init_from,
                },
            },
            f,
            indent=1,
        )

    # Model, under the asked precision and distribution strategy.
    previous_policy = keras.config.dtype_policy()
    if mixed_precision:
        keras.config.set_dtype_policy("mixed_float16")
    scope = (
        tf.distribute.MirroredStrategy()
        if strategy == "mirrored"
        else tf.distribute.get_strategy()
    )
    try:
        with scope.scope():
            model = build_ocr_model(**config)
            if initial_weights is not None and not resuming:
                model.set_weights(initial_weights)
            loss = CTCLoss(blank_index=charset.blank_index)
            model.compile(
                optimizer=keras.optimizers.Adam(learning_rate, clipnorm=5.0),
                loss=loss,
                jit_compile=False,
            )
    finally:
        keras.config.set_dtype_policy(previous_policy)

    checkpoint = keras.callbacks.ModelCheckpoint(
        os.path.join(out, MODEL_FILE),
        monitor="val_cer",
        mode="min",
        save_best_only=True,
    )
    best = _best_so_far(rows)
    if best is not None:
        checkpoint.best = best
    # A resumed run continues the budget and the schedule where they were.
    budget = TimeBudget(
        minutes,
        learning_rate=learning_rate if minutes else None,
        elapsed_minutes=minutes_so_far(history_path) if resuming else 0.0,
    )
    all_callbacks = [
        ValidationErrorRates(val_samples, charset, batch_size),
        keras.callbacks.TerminateOnNaN(),
        checkpoint,
        backup_and_restore(os.path.join(out, BACKUP_DIR)),
        keras.callbacks.CSVLogger(history_path, append=True),
        keras.callbacks.EarlyStopping(
            monitor="val_cer", mode="min", patience=patience
        ),
    ]
    all_callbacks.insert(1, budget)
    if _has_tensorboard():
        all_callbacks.append(
            keras.callbacks.TensorBoard(os.path.join(out, LOG_DIR))
        )
    else:
        logger.warning(
            "TensorBoard is not installed: no logs in %s (history.csv and "
            "training.png hold the curves). `pip install tensorboard`.",
            os.path.join(out, LOG_DIR),
        )
    all_callbacks += list(callbacks or [])

    with warnings.catch_warnings():
        # The validation set is finite and its batch count unknown (width
        # buckets): Keras warns each time it reaches its end.
        warnings.filterwarnings("ignore", message="Your input ran out")
        history = model.fit(
            train_ds,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            validation_data=val_ds,
            callbacks=all_callbacks,
            shuffle=False,
            verbose=verbose,
        )
    model_path = os.path.join(out, MODEL_FILE)
    if not os.path.isfile(model_path):
        model.save(model_path)

    rows = _history_rows(history_path)
    try:
        from keras_seq.apps.ocr.plots import plot_training

        plot_training(rows, os.path.join(out, "training.png"))
    except Exception as error:  # a plot never fails a finished run
        logger.warning("Could not plot the training curves: %s", error)
    summary = {
        "run": out,
        "model": model_path,
        "epochs_run": len(history.epoch),
        "epochs_total": len(rows),
        "best_val_cer": _best_so_far(rows),
        "best_val_wer": _best_so_far(rows, "val_wer"),
        "train_lines": num_train,
        "val_lines": len(val_samples),
        "skipped": dict(skipped),
        "infeasible_ctc_samples": int(loss.infeasible_count),
        "time_budget_reached": budget.reached,
        "steps_run": budget.steps,
        "minutes_trained": round(budget.spent(), 2),
        "seconds": round(time.monotonic() - started, 1),
        "resumed": resuming,
    }
    with open(os.path.join(out, SUMMARY_FILE), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1, ensure_ascii=False)
    return summary
