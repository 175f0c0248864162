"""Measurements on real language models that confront the checker's verified bounds.

Nothing here is imported by `checker`: torch and transformers load only when a probe runs.
"""
