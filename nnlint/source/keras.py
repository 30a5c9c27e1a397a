"""Keras models lowered to layer graphs (placeholder until the Keras front end lands)."""

from __future__ import annotations


def keras_graphs(source) -> list:
    return []
