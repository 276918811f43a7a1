"""Rules and model in one calibrated probability, and the abstention threshold.

    log p(k) = (a * log(rules(k) + eps) + b * log(model(k)) + bias_none * [k is None]) / T

normalised over the model's classes (the 30 items and None). a, b and bias_none are fitted
by log loss on out-of-fold predictions of the train split, then the temperature T alone
(a second pass, so that the probabilities are calibrated and not only well ranked).
The threshold θ on P(lead unit) is chosen on the same out-of-fold data.
"""
from __future__ import annotations

import numpy as np

from routing.model import Calibration

MAX_WRONG = 0.03    # wrong lead unit among the auto-routed
MAX_TRIAGE = 0.20   # share sent to manual triage


def rules_array(dist: dict, classes: list[str | None], eps: float) -> np.ndarray:
    """The rules' distribution (items and None) as log(p + eps) in the model's class order."""
    return np.log(np.asarray([dist.get(c, 0.0) for c in classes], dtype=np.float64) + eps)


def combine(log_rules: np.ndarray, model_p: np.ndarray, cal: Calibration) -> np.ndarray:
    """Calibrated probabilities: rows of (log rules, model probabilities) -> probabilities."""
    z = cal.a * log_rules + cal.b * np.log(np.maximum(model_p, 1e-12))
    z = np.array(z, dtype=np.float64)
    z[..., -1] += cal.bias_none          # None is the last class (order_classes)
    z = z / cal.temperature
    z -= z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=-1, keepdims=True)


def order_classes(labels: list[str]) -> list[str]:
    """Items in code order, then "none" last (combine() relies on it)."""
    return sorted((lab for lab in labels if lab != "none"),
                  key=lambda c: tuple(int(x) for x in c.split("."))) + (["none"] if "none" in labels else [])


def _loss(params, log_rules, log_model, y, none_col, temperature=1.0) -> float:
    a, b, bias = params
    z = a * log_rules + b * log_model
    z[:, none_col] += bias
    z = z / temperature
    z -= z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def fit_calibration(log_rules: np.ndarray, model_p: np.ndarray, y: np.ndarray,
                    eps: float = 1e-3) -> Calibration:
    """a, b, bias_none by log loss, then the temperature; rows are out-of-fold predictions."""
    from scipy.optimize import minimize

    log_model = np.log(np.maximum(model_p, 1e-12))
    none_col = model_p.shape[1] - 1
    res = minimize(_loss, x0=[0.3, 1.0, 0.0], args=(log_rules, log_model, y, none_col),
                   method="Nelder-Mead", options={"xatol": 1e-3, "fatol": 1e-5, "maxiter": 600})
    a, b, bias = (float(v) for v in res.x)
    grid = np.exp(np.linspace(np.log(0.5), np.log(2.0), 41))
    losses = [_loss([a, b, bias], log_rules, log_model, y, none_col, t) for t in grid]
    return Calibration(a=round(a, 5), b=round(b, 5), bias_none=round(bias, 5),
                       temperature=round(float(grid[int(np.argmin(losses))]), 5), eps=eps)


def choose_threshold(lead_p: np.ndarray, lead_ok: np.ndarray, always_triage: np.ndarray,
                     max_wrong: float = MAX_WRONG, max_triage: float = MAX_TRIAGE) -> dict:
    """θ on P(lead unit): the smallest that keeps the wrong-unit rate among the auto-routed
    at or below ``max_wrong`` while at most ``max_triage`` of all reports go to triage.
    ``always_triage`` marks reports triaged whatever θ (out of scope). When no θ meets
    both, the one with the most triage allowed (the lowest wrong rate possible within
    the triage limit) is taken and ``met`` is False."""
    n = len(lead_p)
    cands = np.unique(np.concatenate([[0.0], lead_p[~always_triage]]))
    best = None
    for t in cands:
        auto = (~always_triage) & (lead_p >= t)
        triage = 1.0 - auto.sum() / n if n else 0.0
        wrong = float((~lead_ok[auto]).mean()) if auto.any() else 0.0
        row = {"threshold": float(t), "triage_share": float(triage), "wrong_rate": wrong}
        if triage > max_triage + 1e-12:
            break
        best = row
        if wrong <= max_wrong:
            return {**row, "met": True}
    return {**(best or {"threshold": 0.0, "triage_share": 0.0, "wrong_rate": 0.0}), "met": False}


def threshold_table(lead_p, lead_ok, always_triage, thresholds=(0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)) -> list[dict]:
    """threshold -> (triage share, wrong-unit rate among the auto-routed)."""
    out = []
    n = len(lead_p)
    for t in thresholds:
        auto = (~always_triage) & (lead_p >= t)
        out.append({"threshold": t, "triage_share": 1.0 - auto.sum() / n if n else 0.0,
                    "wrong_rate": float((~lead_ok[auto]).mean()) if auto.any() else 0.0})
    return out


def calibrated(model, dist: dict, norm: str, reading=None) -> tuple[dict, np.ndarray, np.ndarray]:
    """The calibrated distribution (items and None) of a report from its model text
    (routing.model.model_text), and its model features (for the model's top terms).
    ``reading``: the model's reading of that text made beforehand (routing.model_batch)."""
    if reading is None:
        idx, vals = model.features(norm, normalised=True)
        proba = model.proba_array(idx, vals)
    else:
        idx, vals, proba = reading.idx, reading.vals, reading.proba
    classes = model.item_classes
    p = combine(rules_array(dist, classes, model.calibration.eps), proba, model.calibration)
    return dict(zip(classes, p.tolist())), idx, vals
