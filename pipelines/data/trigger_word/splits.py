"""The trigger-word dataset's splits, in the order that seeds each clip (``(seed, split index, clip index)``).

A module of its own so that the task (which evaluates the held-out splits) depends on these names only, not on
the generator: an edit to the effects or the voices reruns the data stage, and training only if the bytes change.
"""

SPLITS = ("train", "dev", "test", "negatives_only")
HELD_OUT_SPLITS = ("test", "negatives_only")  # held-out voices: recall on test, false accepts on negatives_only
