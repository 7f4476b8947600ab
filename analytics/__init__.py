"""Analytics library (issue 5): Japanese-aware normalisation, vectorising and clustering of free
text with scikit-learn, keywords, representatives and a 2-D map, as
``analytics.cluster_texts(texts, k=None)`` and ``python -m analytics evaluate``. It will import
nothing from ``app`` or Flask. Nothing lives here yet."""
