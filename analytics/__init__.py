"""Analytics library (issue 5): free text into themes, with scikit-learn. No Flask, no app.

    from analytics import cluster_texts
    result = cluster_texts(texts, k=None)   # k: about the cube root of the count, 2–10
    result.labels, result.clusters (keywords, representatives, density), result.coordinates

``python -m analytics evaluate FILE --text-col C --label-col L`` prints NMI and ARI;
``python -m analytics cluster FILE --text-col C`` prints the themes.
"""

from analytics.cluster import Cluster, Clustering, choose_k, cluster_texts

__all__ = ["Cluster", "Clustering", "choose_k", "cluster_texts"]
