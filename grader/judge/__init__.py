"""The trusted side: the pytest plugin, the ``student`` proxy, static checks and scoring."""
