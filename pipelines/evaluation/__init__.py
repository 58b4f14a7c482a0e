"""Held-out metrics of each model family, shared by evaluation, training's dev passes and the benchmarks."""
