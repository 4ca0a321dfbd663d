"""PNG pictures of the OCR app: predictions, CTC alignment, training curves.

Matplotlib with the non-interactive Agg backend, so they render on a
machine without a display.
"""

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_samples(samples, predictions, path, columns=1, max_lines=12):
    """Line images with the truth and the reading under each.

    Args:
        samples: list of samples (`image`, `text`).
        predictions: list of str, one per sample.
        path: the PNG to write.
        columns: int, columns of the grid.
        max_lines: int, most lines shown.
    """
    plt = _pyplot()
    count = min(len(samples), max_lines)
    rows = -(-count // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(7 * columns, 1.05 * rows), squeeze=False
    )
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= count:
            continue
        sample, prediction = samples[index], predictions[index]
        ax.imshow(1.0 - sample["image"], cmap="gray", vmin=0, vmax=1)
        ok = prediction == sample["text"]
        ax.set_title(
            f"truth: {sample['text']}\nread:  {prediction}",
            fontsize=7,
            loc="left",
            family="DejaVu Sans Mono",
            color="black" if ok else "firebrick",
        )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_alignment(image, logits, charset, path, frames=None, title=None):
    """The CTC alignment: the image over per-frame class probabilities.

    The lower panel shows, for every frame, the probability of the blank
    and of each character the greedy path emits, so one sees where along
    the line each character fires.

    Args:
        image: `(height, width)` float32, ink 1.
        logits: `(frames, num_classes)` logits of that image.
        charset: the `Charset`.
        path: the PNG to write.
        frames: real frame count (default: all rows of `logits`).
        title: optional figure title.
    """
    plt = _pyplot()
    logits = np.asarray(logits, "float64")
    if frames is not None:
        logits = logits[:frames]
    shifted = logits - logits.max(axis=-1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=-1, keepdims=True)
    best = probs.argmax(axis=-1)
    blank = charset.blank_index
    emitted = [int(c) for c in dict.fromkeys(best) if c != blank]
    width = image.shape[1]
    # Frame f covers columns [f * width / frames, (f + 1) * width / frames).
    centers = (np.arange(len(probs)) + 0.5) * width / max(len(probs), 1)

    fig, (top, bottom) = plt.subplots(
        2,
        1,
        figsize=(max(6, width / 40), 3.6),
        sharex=True,
        gridspec_kw={"height_ratios": [1, 2]},
    )
    top.imshow(
        1.0 - image,
        cmap="gray",
        aspect="auto",
        vmin=0,
        vmax=1,
        extent=(0, width, image.shape[0], 0),
    )
    top.set_yticks([])
    if title:
        top.set_title(title, fontsize=9, loc="left")
    bottom.fill_between(
        centers, probs[:, blank], step="mid", color="0.85", label="blank"
    )
    colors = plt.get_cmap("tab10")
    for i, class_id in enumerate(emitted):
        bottom.plot(
            centers,
            probs[:, class_id],
            drawstyle="steps-mid",
            color=colors(i % 10),
            linewidth=1,
        )
    for f, class_id in enumerate(best):
        if class_id != blank and (f == 0 or best[f - 1] != class_id):
            bottom.text(
                centers[f],
                1.02,
                charset.vocabulary[class_id],
                ha="center",
                va="bottom",
                fontsize=8,
            )
    bottom.set_ylim(0, 1.15)
    bottom.set_xlim(0, width)
    bottom.set_ylabel("p(class | frame)")
    bottom.set_xlabel("image column (frames below their columns)")
    bottom.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_training(rows, path):
    """Training curves from `history.csv` rows: loss and error rates.

    Args:
        rows: list of dicts (csv rows) with `epoch`, `loss`, `val_loss`,
            `val_cer`, `val_wer` where present.
        path: the PNG to write.
    """
    plt = _pyplot()

    def column(name):
        values = []
        for row in rows:
            try:
                values.append(float(row[name]))
            except (KeyError, TypeError, ValueError):
                values.append(np.nan)
        return np.asarray(values)

    epochs = np.arange(1, len(rows) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    for name in ("loss", "val_loss"):
        left.plot(epochs, column(name), marker=".", label=name)
    left.set_xlabel("epoch")
    left.set_ylabel("CTC loss")
    left.set_yscale("log")
    left.legend()
    for name in ("val_cer", "val_wer"):
        right.plot(epochs, 100 * column(name), marker=".", label=name)
    right.set_xlabel("epoch")
    right.set_ylabel("error rate (%)")
    right.set_ylim(bottom=0)
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
