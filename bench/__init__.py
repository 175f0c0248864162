"""`make bench`: how fast the checker and the probes are, and how far they reach, against
their baselines, measured in one run and reported as ratios in bench/RESULTS.md."""
