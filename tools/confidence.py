"""Mean and two-sided 95 % Student-t confidence half-width over repeated runs.

Shared by the scripts that summarise repeated experiments (fsched-runs,
fsched-sim/compare_guards.py). Standard library only.
"""
import math
import statistics

# Two-sided 95 % Student t quantiles by degrees of freedom; 1.96 beyond.
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
       9: 2.262, 10: 2.228}


def ci(values):
    """(mean, half-width); the half-width is NaN for fewer than two values."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, float("nan")
    half = T95.get(len(values) - 1, 1.96) * statistics.stdev(values) / math.sqrt(len(values))
    return mean, half
