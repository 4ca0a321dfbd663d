"""Kept for tools that still call setup.py; pyproject.toml is the source."""

from setuptools import setup

setup()
