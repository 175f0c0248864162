"""Facts as token sequences and the small causal language models trained on them here (E-F:
H-4, H-5, H-6, H-9): `data` (the world, the long-tailed corpus with corrupted claims), `model`
(the transformer, its parameter count and its weights quantized to a stated number of bits),
`train` (one trained configuration, measured on every fact)."""
