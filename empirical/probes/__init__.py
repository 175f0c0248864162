"""One module per probe; each exposes NAME, THEOREMS, Config (with preset), and run()."""
