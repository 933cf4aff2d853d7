"""The report's sections, one module each, each turning run-folder data into plain dicts.

A section function takes the parsed ``manifest.json`` / ``metrics.json`` (and what earlier
sections found) and returns the data its part of the page shows; it never raises on a missing
or odd key (see :mod:`synthpipe.report.data`). :func:`synthpipe.report.build.assemble_report`
calls them in page order.
"""
