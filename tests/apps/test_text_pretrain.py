"""pretrain: masked LM + next sentence; its encoder starts other apps."""

import numpy as np
import pytest
import tensorflow as tf

from keras_seq.apps.classify.app import APP as CLASSIFY
from keras_seq.apps.pretrain.app import APP, make_pairs
from keras_seq.apps.text import app as text_app
from keras_seq.apps.text import toy_data
from keras_seq.apps.text.app import TextRun


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pretrain")
    corpus = str(folder / "corpus.txt")
    toy_data.write_corpus(corpus, documents=16)
    summary = text_app.train(
        APP,
        corpus,
        str(folder / "run"),
        vocabulary_size=150,
        encoder_config={"backbone": "bag", "hidden_dim": 32},
        epochs=3,
        batch_size=8,
        options={"max_predictions": 6},
        verbose=0,
    )
    return folder, summary


def test_pairs_mix_next_and_random_sentences():
    documents = [[f"d{d} s{i}" for i in range(4)] for d in range(6)]
    firsts, seconds, labels = make_pairs(documents, seed=0)
    assert len(firsts) == 6 * 3
    for first, second, label in zip(firsts, seconds, labels):
        d, i = first.split()
        if label:
            assert second == f"{d} s{int(i[1:]) + 1}"
        else:
            assert not second.startswith(d + " ")
    assert 0 < sum(labels) < len(labels)


def test_train_evaluate_fill_mask(trained, tmp_path):
    folder, summary = trained
    assert {"mlm_loss", "nsp_loss"} <= set(summary["final"])
    results = text_app.evaluate(
        APP, str(folder / "run"), str(folder / "corpus.txt")
    )
    assert 0.0 <= results["mlm_accuracy"] <= 1.0
    assert results["masked_tokens"] > 0
    path = tmp_path / "masked.txt"
    path.write_text("Then Anna had [MASK] with coffee.\nno mask here\n")
    lines = list(text_app.predict(APP, str(folder / "run"), str(path)))
    first = lines[0].split("\t")
    assert first[0] == "0" and len(first[1].split()) == 1
    assert lines[1] == "1\t\t"


def test_export_and_embedding_saved_model(trained):
    folder, _ = trained
    result = text_app.export(
        APP, str(folder / "run"), str(folder / "pretrain.tflite")
    )
    assert result["parity_ok"], result
    directory = str(folder / "saved_model")
    text_app.export_saved_model(APP, str(folder / "run"), directory)
    loaded = tf.saved_model.load(directory)
    outputs = loaded.signatures["serving_default"](
        texts=tf.constant(["Anna woke up early.", "x"])
    )
    assert outputs["embedding"].shape == (2, 32)
    assert np.all(np.isfinite(outputs["embedding"].numpy()))


def test_classifier_starts_from_the_pretrained_encoder(trained, tmp_path):
    folder, _ = trained
    data = str(tmp_path / "train.csv")
    toy_data.write_sentiment(data, count=24)
    run = str(tmp_path / "run")
    text_app.train(
        CLASSIFY,
        data,
        run,
        encoder=str(folder / "run"),
        epochs=1,
        verbose=0,
    )
    source = TextRun(str(folder / "run"))
    target = TextRun(run)
    assert target.tokenizer.vocabulary == source.tokenizer.vocabulary
    assert target.config["encoder"] == source.config["encoder"]
    # Trained one epoch from the pretrained weights, not from scratch:
    # the embeddings moved little.
    before = source.model.get_layer("encoder").get_layer("token_embedding")
    after = target.model.get_layer("encoder").get_layer("token_embedding")
    delta = np.abs(after.embeddings.numpy() - before.embeddings.numpy())
    assert delta.max() < 0.05
