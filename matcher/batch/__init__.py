"""Batch runs (``changfang match``): files in, the tables staff send out, a summary and a report.

* :mod:`matcher.batch.run` -- :func:`run_match`: read, score, allocate, write;
* :mod:`matcher.batch.report` -- ``report.html``.
"""
