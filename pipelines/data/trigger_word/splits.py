"""The trigger-word dataset's splits, in the order that seeds each clip (``(seed, split index, clip index)``).

A module of its own so that the task (which evaluates the held-out splits) depends on these names only, not on
the generator: an edit to the effects or the voices reruns the data stage, and training only if the bytes change.
A new split goes at the end, so that every older split keeps its index and its clips their bytes.
"""

SPLITS = ("train", "dev", "test", "negatives_only", "real_negatives")
# held out: recall on test, false accepts on negatives_only (held-out voices) and real_negatives (held-out people)
HELD_OUT_SPLITS = ("test", "negatives_only", "real_negatives")
