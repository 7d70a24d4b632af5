"""Model Monitor: baselines, monitoring schedules and their executions over captured traffic.

``stats`` (statistics.json, KLL sketches), ``constraints`` (suggested constraints, violation
checks), ``drift`` (the drift methods' table), ``capture`` (reading a capture window),
``report`` (the HTML drift report), ``schedules`` (desired state), ``scheduler`` (the actor
on the head) and ``jobs`` (what the kinds run). An engine: it never imports the SDK or CLI.
"""
