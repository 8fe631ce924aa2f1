"""The HTTP service (``changfang serve``; the ``[server]`` extra: FastAPI and uvicorn).

Importing :mod:`matcher` never imports this package; :func:`create_app` lives in
:mod:`matcher.service.app`.
"""
