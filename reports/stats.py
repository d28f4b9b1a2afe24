"""Sharpe-ratio statistics that account for sample length, non-normality and multiple testing.

See:
  - D. H. Bailey, M. Lopez de Prado, "The Sharpe Ratio Efficient Frontier",
    Journal of Risk 15(2), 2012 (probabilistic Sharpe ratio).
  - D. H. Bailey, M. Lopez de Prado, "The Deflated Sharpe Ratio: Correcting for Selection
    Bias, Backtest Overfitting and Non-Normality", Journal of Portfolio Management 40(5), 2014.

All Sharpe ratios here are per period (per bar), never annualised: the formulas are stated in
the sampling frequency of the returns.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

logger = logging.getLogger(__name__)

EULER_GAMMA: float = float(np.euler_gamma)


def sharpe_standard_error(returns: pd.Series, periods_per_year: float) -> tuple[float, float]:
    """(annualised Sharpe, its standard error) of per-bar returns.

    Formula: SR = mean / std (ddof=1); SE(SR) = sqrt((1 - g3 SR + (g4 - 1) / 4 SR^2) / (n - 1)),
    g3 the skewness and g4 the (non-excess) kurtosis; both scaled by sqrt(periods_per_year).
    See: Mertens (2002); Bailey & Lopez de Prado (2012), the variance term of the PSR.
    Constant returns (a strategy that never trades) have Sharpe 0 and standard error 0.
    """
    x = np.asarray(returns, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 3 or np.all(x == x[0]):
        return 0.0, 0.0
    std = float(np.std(x, ddof=1))
    sr = float(np.mean(x)) / std
    skew = float(sps.skew(x, bias=True))
    kurt = float(sps.kurtosis(x, fisher=False, bias=True))
    variance = max(1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr, 0.0) / (x.size - 1)
    scale = math.sqrt(periods_per_year)
    return sr * scale, math.sqrt(variance) * scale


def probabilistic_sharpe_ratio(returns: pd.Series, benchmark_sharpe: float = 0.0) -> float:
    """Probability that the true per-period Sharpe ratio exceeds `benchmark_sharpe`.

    Formula:
        PSR(SR*) = Phi( (SR_hat - SR*) * sqrt(n - 1)
                        / sqrt(1 - g3 * SR_hat + (g4 - 1) / 4 * SR_hat^2) )

    with SR_hat = mean / std (ddof=1) of the n per-period returns, g3 their skewness and g4
    their (Pearson, non-excess: 3 for a normal) kurtosis, both the sample-moment estimators
    used in the paper (scipy's `bias=True`), and Phi the standard normal CDF.

    Returns NaN when it is undefined: fewer than 3 returns or zero variance.

    See: Bailey & Lopez de Prado, "The Sharpe Ratio Efficient Frontier" (2012), eq. 11.
    """
    x = _clean(returns)
    n = x.size
    if n < 3:
        return math.nan
    std = float(np.std(x, ddof=1))
    # Constant returns can show a ~1e-18 std from rounding of the mean: test equality instead.
    if np.all(x == x[0]) or not std > 0.0:
        return math.nan
    sr = float(np.mean(x)) / std
    skew = float(sps.skew(x, bias=True))
    kurt = float(sps.kurtosis(x, fisher=False, bias=True))
    # Always >= 0 in exact arithmetic (g4 >= 1 + g3^2 makes it a square); guard rounding.
    variance_term = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr
    if not variance_term > 0.0:
        return math.nan
    z = (sr - benchmark_sharpe) * math.sqrt(n - 1) / math.sqrt(variance_term)
    return float(sps.norm.cdf(z))


def expected_max_sharpe(trial_sharpes: Sequence[float]) -> float:
    """Expected maximum of N per-period Sharpe ratios under the null of no skill.

    Formula:
        SR* = sqrt(V[SR_n]) * ( (1 - gamma) * Phi^-1(1 - 1/N) + gamma * Phi^-1(1 - 1/(N e)) )

    with V the sample variance (ddof=1) of the N trial Sharpe ratios and gamma the
    Euler-Mascheroni constant. A single trial is no selection: SR* = 0.

    See: Bailey & Lopez de Prado, "The Deflated Sharpe Ratio" (2014), eq. 2 (E[SR_n] = 0).
    """
    trials = np.asarray(list(trial_sharpes), dtype=float)
    if trials.size == 0:
        raise ValueError("expected_max_sharpe needs at least one trial Sharpe ratio")
    if not np.all(np.isfinite(trials)):
        # Dropping a failed trial would shrink N and flatter the winner: let the caller decide.
        raise ValueError("trial Sharpe ratios must all be finite")
    n = trials.size
    if n == 1:
        return 0.0
    spread = math.sqrt(float(np.var(trials, ddof=1)))
    quantiles = (1.0 - EULER_GAMMA) * sps.norm.ppf(1.0 - 1.0 / n) + EULER_GAMMA * sps.norm.ppf(
        1.0 - 1.0 / (n * math.e)
    )
    return float(spread * quantiles)


def deflated_sharpe_ratio(returns: pd.Series, trial_sharpes: Sequence[float]) -> float:
    """PSR of `returns` against the Sharpe ratio the best of N unskilled trials would reach.

    Formula:
        DSR = PSR(SR*),  SR* = expected_max_sharpe(trial_sharpes)

    `trial_sharpes` are the per-period (non-annualised) Sharpe ratios of every configuration
    tried (the selected one included), so N = len(trial_sharpes).

    See: Bailey & Lopez de Prado, "The Deflated Sharpe Ratio" (2014), eq. 9.
    """
    return probabilistic_sharpe_ratio(returns, expected_max_sharpe(trial_sharpes))


def _clean(returns: pd.Series) -> np.ndarray:
    values = np.asarray(returns, dtype=float)
    return values[np.isfinite(values)]
