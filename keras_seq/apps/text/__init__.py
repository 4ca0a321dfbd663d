"""Shared pieces of the text apps: tokenizer, readers, encoders, loop."""
