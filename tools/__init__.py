"""Command-line tools: checkpoint conversion, parity checks, synthetic scenes, fusion."""
