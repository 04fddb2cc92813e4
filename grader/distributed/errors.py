"""The error of the cluster path, importable without importing Dask."""


class ClusterError(Exception):
    """The scheduler cannot be reached, or has no worker; the message names its address."""
