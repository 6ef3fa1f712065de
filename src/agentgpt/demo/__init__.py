"""Demo and simulation tools, outside the library: ``agentgpt demo`` and the load models.

Scripted customers (``personas``) driven over HTTP (``customers``, ``driver``), the
service as a child process (``launch``), run percentiles (``stats``) and the synthetic
cross-session traffic that measures the trend detector (``traffic``). The benchmarks and
tests use them; the library (client SDK, analytics) does not.
"""
