"""Small two-modality models trained here, on data generated here (E-M: M-1, M-2).

`data` makes paired samples (a procedural image as pixel patches, a question and its answer),
`model` is a small causal transformer over image-patch embeddings followed by text tokens,
`train` trains one configuration and measures it (per-modality losses, attention mass per
modality, gradient norms per pathway). The probe `empirical.probes.multimodal` runs the grids.
"""
