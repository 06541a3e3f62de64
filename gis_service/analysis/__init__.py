"""Analysis: network travel times, coverage, allocation, access ladder and gaps."""
