"""Monthly SUS anomaly scoring (seed 003, InfoSAS).

SIA, SIH and CNES production with IBGE population, aggregated into monthly
cubes, scored (oscillation, empirical-Bayes per-capita rates, log-normal
excess, value per admission), ranked for audit, with fact sheets.
Work in progress: see the issue's notes for what is built.
"""
