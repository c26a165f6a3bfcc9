"""Fitted learned models as plain numpy arrays, so that a run that does not refit (most
runs: a new morning extends the stored model) never imports scikit-learn (~1 s).

``compile_estimator`` turns a fitted pipeline of ``learners.make_estimator`` into a
predictor of its own and checks it against scikit-learn on the training rows; when they
do not agree (a scikit-learn version whose internals differ) it returns None and the
scikit-learn pipeline is stored as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Imputed:
    """SimpleImputer(add_indicator=True): missing values -> the training medians, then a
    0/1 column per feature that had missing values in training."""

    fill: np.ndarray
    indicator: np.ndarray  # feature indices

    def apply(self, x: np.ndarray) -> np.ndarray:
        missing = np.isnan(x)
        filled = np.where(missing, self.fill, x)
        return np.hstack([filled, missing[:, self.indicator].astype(float)])


@dataclass
class LinearPredictor:
    """imputer -> StandardScaler -> SignedRidge."""

    imputed: Imputed
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = (self.imputed.apply(x) - self.mean) / self.scale
        return np.asarray(z @ self.coef + self.intercept, dtype=float)


@dataclass
class TreesPredictor:
    """imputer -> HistGradientBoostingRegressor (squared error: the raw sum is the
    prediction). Each tree: feature, threshold, missing-goes-left, left, right, leaf, value
    per node."""

    imputed: Imputed
    baseline: float
    trees: list[dict[str, np.ndarray]]

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = self.imputed.apply(x)
        rows = np.arange(len(z))
        out = np.full(len(z), self.baseline, dtype=float)
        for t in self.trees:
            node = np.zeros(len(z), dtype=np.int64)
            while True:
                inner = ~t["leaf"][node]
                if not inner.any():
                    break
                value = z[rows, t["feature"][node]]
                go_left = np.where(
                    np.isnan(value), t["missing_left"][node], value <= t["threshold"][node]
                )
                node = np.where(inner, np.where(go_left, t["left"][node], t["right"][node]), node)
            out += t["value"][node]
        return out


def _imputed(imputer: Any) -> Imputed:
    fill = np.asarray(imputer.statistics_, dtype=float)
    fill = np.where(np.isnan(fill), 0.0, fill)
    indicator = (
        np.asarray(imputer.indicator_.features_, dtype=np.int64)
        if getattr(imputer, "indicator_", None) is not None
        else np.zeros(0, dtype=np.int64)
    )
    return Imputed(fill, indicator)


def _linear(pipeline: Any) -> LinearPredictor:
    imputer, scaler, signed = (step for _name, step in pipeline.steps)
    ridge = signed.model_
    return LinearPredictor(
        _imputed(imputer),
        np.asarray(scaler.mean_, dtype=float),
        np.asarray(scaler.scale_, dtype=float),
        np.asarray(ridge.coef_, dtype=float) * signed.keep_,
        float(ridge.intercept_),
    )


def _trees(pipeline: Any) -> TreesPredictor:
    imputer, hgb = (step for _name, step in pipeline.steps)
    trees = []
    for (predictor,) in hgb._predictors:  # one tree per iteration (a single output)
        nodes = predictor.nodes
        trees.append(
            {
                "feature": nodes["feature_idx"].astype(np.int64),
                "threshold": nodes["num_threshold"].astype(float),
                "missing_left": nodes["missing_go_to_left"].astype(bool),
                "left": nodes["left"].astype(np.int64),
                "right": nodes["right"].astype(np.int64),
                "leaf": nodes["is_leaf"].astype(bool),
                "value": nodes["value"].astype(float),
            }
        )
    return TreesPredictor(_imputed(imputer), float(np.ravel(hgb._baseline_prediction)[0]), trees)


def compile_estimator(name: str, pipeline: Any, x: np.ndarray) -> Any | None:
    """A numpy predictor equal to ``pipeline`` on ``x`` (its training rows), or None."""
    from hrv.analytics.learners import RIDGE, TREES

    try:
        compiled: Any = {RIDGE: _linear, TREES: _trees}[name](pipeline)
        ours = compiled.predict(x)
    except Exception:  # internals not as expected: keep scikit-learn's
        return None
    theirs = np.asarray(pipeline.predict(x), dtype=float)
    return compiled if np.allclose(ours, theirs, rtol=1e-9, atol=1e-9) else None
