"""Weekly glosa clustering (seed 000).

For each segment (hospital x convênio x tipo de glosa), cluster last month's
glosa cells with K-Means, k chosen by silhouette, and rank the clusters by the
money they lose. Modules, in pipeline order:

``contract`` (source columns) -> ``features`` -> ``quality`` (DQ suites) ->
``batching`` -> ``clustering`` -> ``profiles`` -> ``pipeline`` (the steps the DAG calls).
"""
