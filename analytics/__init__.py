"""Analytics library (issue 5): free text into themes, with scikit-learn. No Flask, no app.

    from analytics import cluster_texts
    result = cluster_texts(texts, k=None)   # k: about the cube root of the count, 2–10
    result.labels, result.clusters (keywords, representatives, density, duplicates, children),
    result.coordinates, result.model.place(new_texts)  # new texts into the clusters at once
    stable_ids(previous, keys, result.labels)           # ids that continue the last run's

    groups = opinion_groups(votes)          # Pol.is-style groups from agree/disagree/pass

``python -m analytics evaluate FILE --text-col C --label-col L`` prints NMI and ARI;
``python -m analytics cluster FILE --text-col C`` prints the themes.
"""

from analytics.cluster import Cluster, Clustering, Model, choose_k, cluster_texts, stable_ids
from analytics.opinion_groups import MIN_VOTES, OpinionGroups, opinion_groups

__all__ = [
    "MIN_VOTES",
    "Cluster",
    "Clustering",
    "Model",
    "OpinionGroups",
    "choose_k",
    "cluster_texts",
    "opinion_groups",
    "stable_ids",
]
