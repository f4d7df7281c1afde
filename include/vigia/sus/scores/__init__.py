"""Statistical core of the monthly SUS anomaly scoring (InfoSAS method).

Every function here is pure: it takes pandas DataFrames of AGGREGATED data
(monthly cubes, never raw SIA/SIH rows) and returns new DataFrames. No I/O, no
Airflow. Each function's docstring states its formula.

Column names used throughout:

* ``cnes``        establishment id (str)
* ``alvo``        mining target id (str)
* ``competencia`` month, ``datetime.date`` on the first day of the month
* ``municipio``   6-digit IBGE municipality code (str)
* ``uf``          2-letter state (str)
* ``quantidade``  count (float)
* ``valor``       money (float)
* ``populacao``   inhabitants (int)
* ``n_aih``       number of hospital admissions (AIH)

Inputs may carry ``competencia`` as ``datetime.date`` or ``pandas.Timestamp``;
joins are made on an integer month index, and every output's ``competencia`` is
a ``datetime.date`` on the first day of the month.

Scores never invent a value: when a score cannot be computed (not enough
history, too few municipalities to fit a cutoff, too few admissions...), its
value is NaN and a ``reason`` column says why, in Portuguese.

Pipeline overview::

    cube ──────────────► oscillation ───────────────────────────┐
    municipal cube ────► empirical_bayes_rates ─► municipal_rate_scores
                          └─► attribute_to_establishments ──────┤ scores_long
    SIH cube ──────────► value_per_admission ───────────────────┘
    municipal cube ────► municipal_excess ─► share_excess ─► provider_ranking
    (all of the above) ─► benign_flags

Modules (every public name is re-exported here, so ``from vigia.sus.scores
import X`` keeps working)::

    oscillations oscillation against the establishment's own past (oscillation_from_window: the same
                 from a window given apart), jump_excess
    rates        empirical_bayes_rates, municipal_rate_scores, attribute_to_establishments
    excess       lognormal_cutoff, excess_count, municipal_excess, share_excess
    admission    value_per_admission
    ranking      provider_ranking (ranking and concentration)
    flags        benign_flags
    _common      private helpers (month index, column checks, lookups)
"""

from __future__ import annotations

from .admission import MAD_TO_SIGMA, value_per_admission
from .excess import MIN_POSITIVE_RATES, excess_count, lognormal_cutoff, municipal_excess, share_excess
from .flags import MOBILE_UNIT_TYPES, benign_flags
from .oscillations import MEASURES, MIN_MEDIAN_BASELINE, jump_excess, oscillation, oscillation_from_window
from .ranking import provider_ranking
from .rates import attribute_to_establishments, empirical_bayes_rates, municipal_rate_scores

__all__ = [
    "MAD_TO_SIGMA", "MEASURES", "MIN_MEDIAN_BASELINE", "MIN_POSITIVE_RATES", "MOBILE_UNIT_TYPES",
    "attribute_to_establishments", "benign_flags", "jump_excess", "empirical_bayes_rates", "excess_count", "lognormal_cutoff",
    "municipal_excess", "municipal_rate_scores", "oscillation", "oscillation_from_window", "provider_ranking", "share_excess",
    "value_per_admission",
]
