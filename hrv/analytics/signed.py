"""Ridge regression that keeps the sign of known effects (pickled with the fitted models,
so it lives in a module of its own that imports scikit-learn)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import RidgeCV

from hrv.analytics.signs import known_signs


class SignedRidge(RegressorMixin, BaseEstimator):
    """Ridge (alpha by leave-one-out CV) whose coefficients on the features with a known
    effect (``signs.KNOWN_SIGNS``) keep its sign: a feature fitted against it is dropped
    and the rest refitted until none is (the active-set way to the sign-constrained fit)."""

    def __init__(self, alphas: tuple[float, ...] = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)) -> None:
        self.alphas = alphas

    def fit(self, x: np.ndarray, y: np.ndarray) -> SignedRidge:
        signs = known_signs(x.shape[1])
        keep = np.ones(x.shape[1], dtype=bool)
        while True:
            model = RidgeCV(alphas=self.alphas).fit(x * keep, y)
            wrong = keep & (signs * model.coef_ < 0)
            if not wrong.any():
                break
            keep &= ~wrong
        self.model_, self.keep_ = model, keep
        self.coef_ = model.coef_ * keep
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.model_.predict(x * self.keep_), dtype=float)
