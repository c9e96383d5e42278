"""Summaries of samples: percentiles, ratios and rounding for results.json."""

import math
import statistics


def percentile(samples, fraction):
    """Return the nearest-rank percentile of the samples (fraction 0.5 is the median's rank)."""
    ordered = sorted(samples)
    if len(ordered) == 0:
        raise ValueError("no samples")
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def median(samples):
    return statistics.median(samples)


def ratio(value, baseline):
    """value / baseline, or None when the baseline is zero or missing."""
    if value is None or baseline is None or baseline == 0:
        return None
    return value / baseline


def rounded(value, digits=1):
    """Round floats for results.json; leave other values as they are."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item, digits) for item in value]
    return value
