"""What the trigger-word clips' speakers say: "activate", and the negative words around it.

    from pipelines.data.trigger_word.words import negative_word
    negative_word(np.random.default_rng(0))   # a confusable ("captivate") or an ordinary word ("coffee")

Negatives are ordinary words and, with probability ``P_CONFUSABLE``, confusables: words that share some of
"activate"'s sounds. The train split draws ``p_hard_negative`` of its negatives from the closest of them
(``HARD_CONFUSABLES``, ``clips.draw_word``).
"""

from __future__ import annotations

import numpy as np

POSITIVE = "activate"
CONFUSABLES = ("activity", "actor", "captivate", "deactivate", "active", "vacate", "activist", "captive",
               "cultivate", "motivate", "navigate", "elevate", "activation", "act", "tractor", "cavity",
               "attitude", "relativity", "actively", "estimate", "calculate", "fact", "gate", "vacation")
ORDINARY = ("hello", "computer", "weather", "music", "coffee", "yesterday", "banana", "window", "morning",
            "seven", "twelve", "garden", "question", "chocolate", "orange", "dinner", "tomorrow", "please",
            "station", "language", "elephant", "number", "happy", "listen", "open", "stop", "water", "paper",
            "hospital", "family", "evening", "remember")
P_CONFUSABLE = 0.4
# The confusables that share most of "activate"'s sounds (its "-tivate" or its "activ-"): where a trained
# detector's false accepts sit. The training split draws ``p_hard_negative`` of its negative words from these.
HARD_CONFUSABLES = ("captivate", "deactivate", "cultivate", "motivate", "activist", "actively", "activity",
                    "activation")


def negative_word(rng: np.random.Generator) -> str:
    """A confusable with probability ``P_CONFUSABLE``, an ordinary word otherwise."""
    return str(rng.choice(CONFUSABLES if rng.random() < P_CONFUSABLE else ORDINARY))
