"""The flymodel Python client's tests (python3 -m unittest; no other runner).

    cd python && python3 -m unittest discover -s tests -t . -v

With -t . (python/ as the top level) this file runs first and puts python/
(for ``import flymodel``) and python/tests (for ``import harness``) on
sys.path; harness does the former too, so a run without -t works as well.
Test modules say ``import harness``, never ``from . import harness``.
"""

from __future__ import annotations

import os
import sys

_tests = os.path.dirname(os.path.abspath(__file__))
for _p in (_tests, os.path.dirname(_tests)):
    if _p not in sys.path:
        sys.path.insert(0, _p)
