"""Hostile: sitecustomize / usercustomize that make every pytest report "passed" and every comparison true.

Only ever imported by an interpreter that has this folder on its path at start-up.
"""
try:
    import numpy as _np

    _np.allclose = _np.array_equal = lambda *args, **kwargs: True
    _np.isclose = lambda a, b, *args, **kwargs: _np.ones(_np.broadcast(a, b).shape, dtype=bool)
    _np.testing.assert_allclose = _np.testing.assert_array_equal = lambda *args, **kwargs: None
except Exception:
    pass

try:
    from _pytest import reports as _reports

    _original_init = _reports.TestReport.__init__

    def _always_passed(self, *args, **kwargs):
        _original_init(self, *args, **kwargs)
        self.outcome, self.longrepr = "passed", None

    _reports.TestReport.__init__ = _always_passed
except Exception:
    pass
