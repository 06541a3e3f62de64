"""Database layer: the managed local cluster, engines, the model and its migrations."""
