"""The sign of a known effect on tomorrow's HRV, which a learned model may not reverse:
drinking, illness and a load spike only lower it, more sleep only raises it."""

from __future__ import annotations

import numpy as np

from hrv.analytics.features import MODEL_FEATURES

KNOWN_SIGNS = {"alcohol_units": -1, "illness": -1, "acwr": -1, "sleep_hours": 1}


def known_signs(width: int) -> np.ndarray:
    """The sign each of ``width`` model input columns must keep: the known effects' for
    the features (the first columns), 0 (free) for the rest (the missing indicators)."""
    signs = np.zeros(width, dtype=int)
    signs[: len(MODEL_FEATURES)] = [KNOWN_SIGNS.get(f, 0) for f in MODEL_FEATURES]
    return signs
