"""Names and default settings of the OCR app (no TensorFlow imported)."""

ENCODERS = ("bilstm", "tcn", "transformer-alibi", "transformer-rotary")

# Font sets of generated training lines (see keras_seq.apps.ocr.fonts).
FONT_SETS = ("dejavu", "wide")

# Encoder width when none is given: LSTM units per direction, or the
# model width of the convolutional and transformer encoders.
HIDDEN_DIMS = {
    "bilstm": 128,
    "tcn": 192,
    "transformer-alibi": 128,
    "transformer-rotary": 128,
}

# File names inside a run folder.
MODEL_FILE = "model.keras"
CHARSET_FILE = "charset.json"
CONFIG_FILE = "config.json"
HISTORY_FILE = "history.csv"
SUMMARY_FILE = "summary.json"
BACKUP_DIR = "backup"
LOG_DIR = "logs"
