"""What the journal says about tomorrow morning before an athlete's own data can say it:
published effect sizes on next-morning HRV, in ln units (a fraction of the baseline).

- Alcohol: about -4% per standard drink beyond the first (Pietilä et al. 2018: a high
  dose lowered overnight HRV by about a fifth), at most -30%.
- Illness: -15% (acute infection lowers vagal HRV; Hautala et al. 2010).
- Short sleep: -4% per hour under 7 h, at most -12%.
- An acute:chronic load spike (> 1.5): -5%.

The recent level moved by these (``recent_level_journal``) is the default forecast; a learned
model replaces it only when the athlete's own backtest supports it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ALCOHOL_PER_DRINK = -0.04
ALCOHOL_CAP = -0.30
ILLNESS = -0.15
SLEEP_PER_HOUR = -0.04
SLEEP_CAP = -0.12
SLEEP_OK_HOURS = 7.0
LOAD_SPIKE_ACWR = 1.5
LOAD_SPIKE = -0.05


def prior_effect_ln(rows: pd.DataFrame) -> np.ndarray:
    """The journal's published effect on next-morning ln HRV, per row (0 without one)."""

    def col(name: str) -> np.ndarray:
        if name not in rows:
            return np.full(len(rows), np.nan)
        return pd.to_numeric(rows[name], errors="coerce").to_numpy(dtype=float)

    drinks = np.nan_to_num(col("alcohol_units"))
    alcohol = np.maximum(ALCOHOL_PER_DRINK * np.maximum(drinks - 1.0, 0.0), ALCOHOL_CAP)
    illness = np.where(col("illness") == 1.0, ILLNESS, 0.0)
    sleep = col("sleep_hours")
    short = np.where(np.isfinite(sleep), np.maximum(SLEEP_OK_HOURS - sleep, 0.0), 0.0)
    sleep_effect = np.maximum(SLEEP_PER_HOUR * short, SLEEP_CAP)
    spike = np.where(np.nan_to_num(col("acwr")) > LOAD_SPIKE_ACWR, LOAD_SPIKE, 0.0)
    return alcohol + illness + sleep_effect + spike
