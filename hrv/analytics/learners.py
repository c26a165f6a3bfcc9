"""The learned candidates: ridge (keeping the sign of known effects) and gradient-boosted
trees (monotone in them), on the journal + load features. scikit-learn is imported when
one is built, never on a path that does not fit (it takes about a second to import)."""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator
from typing import Any

RIDGE = "ridge"
TREES = "tree_ensemble"


def make_estimator(name: str) -> Any:
    """A fresh, unfitted learned model (sklearn imported lazily: it is slow to import)."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    # The imputer keeps every feature in place (an athlete who never logs caffeine gets a
    # constant column: the trees' binning cannot handle an all-empty one) and appends
    # "was missing" indicators; the first len(MODEL_FEATURES) columns are the features.
    imputer = SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)
    if name == RIDGE:
        from hrv.analytics.signed import SignedRidge

        return make_pipeline(imputer, StandardScaler(), SignedRidge())
    if name == TREES:
        from sklearn.ensemble import HistGradientBoostingRegressor

        return make_pipeline(
            imputer,
            HistGradientBoostingRegressor(
                max_iter=60,  # with 0.1: as good as 120 at 0.05 here, at half the cost
                learning_rate=0.1,
                max_leaf_nodes=8,
                min_samples_leaf=12,
                l2_regularization=1.0,
                early_stopping=False,
                random_state=0,
            ),
        )
    raise ValueError(f"unknown learned model {name!r}")


@functools.cache
def _controller() -> Any:
    """The process's thread pools, found once (finding them reads /proc/self/maps: ~2 ms a
    fit, 90 ms per athlete when done per fit)."""
    import sklearn.ensemble  # noqa: F401  (loads OpenMP, so that it is found and limited)
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextlib.contextmanager
def quiet_fit() -> Iterator[None]:
    """Journals often leave whole fields empty; the imputer drops them by design.

    Also one thread per fit: runs already work in parallel (one per athlete), and on a
    few hundred rows OpenMP threads only fight each other (measured: 4 concurrent runs on
    2 cores spent 4.4 s in this step instead of ~1 s).
    """
    with warnings.catch_warnings(), _controller().limit(limits=1):
        warnings.filterwarnings("ignore", message="Skipping features without any observed")
        yield
