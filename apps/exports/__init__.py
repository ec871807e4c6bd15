"""Exports too big to stream within the web timeout: a Celery job writes the file, the
requester downloads it when it is ready (issue 13).

A platform app: it knows no domain. Each domain app registers its export kinds
(``apps.exports.registry``) in its ``AppConfig.ready``: how to build the visible, filtered rows
from the request's parameters, the keyset order, how a chunk of objects becomes rows.
"""
