"""The console: raymaker's web pages (SageMaker Studio's place) over one store and cluster.

``raymaker console`` serves it; ``server`` runs it (uvicorn), ``app`` routes and renders,
``routes`` is the table of every address, ``index`` keeps the lists fast, and one module a
section renders its pages: ``jobs``, ``endpoints``, ``models``, ``workflows`` (pipelines,
monitors), ``home`` (home, experiments, data). The console is a door: it works through the
SDK session, as the CLI does, and renders.
"""
