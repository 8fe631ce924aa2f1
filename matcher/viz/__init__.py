"""Figures as inline SVG, drawn in pure Python: no plotting library, no tiles, no network.

* :mod:`matcher.viz.svgmap` -- a map of a county: towns labelled with their Chinese
  names, layers of points, lines between points, hover and keyboard tooltips. Used by
  ``report.html`` (:mod:`matcher.batch.report`) and meant for the portal's matching page.
"""
