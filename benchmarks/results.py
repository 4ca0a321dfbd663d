"""Writes one benchmark's section of benchmarks/RESULTS.md in place."""

import datetime
import os
import platform
import re

RESULTS = os.path.join(os.path.dirname(__file__), "RESULTS.md")


def write_section(title, body, command):
    """Replaces (or appends) the `## {title}` section of RESULTS.md."""
    stamp = datetime.date.today().isoformat()
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    section = (
        f"## {title}\n\n"
        f"Command: `{command}` ({stamp}, {machine}).\n\n"
        f"{body.strip()}\n\n"
    )
    text = ""
    if os.path.exists(RESULTS):
        with open(RESULTS, encoding="utf-8") as f:
            text = f.read()
    if not text:
        text = "# Benchmark results\n\n"
    pattern = re.compile(
        rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.M | re.S
    )
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(RESULTS, "w", encoding="utf-8") as f:
        f.write(text)
