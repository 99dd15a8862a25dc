"""Sensors (the CSV drop-folder sensor is added with the price providers)."""

from __future__ import annotations

SENSORS: list = []
