"""Pure vision pipelines: bytes and arrays in, plain results out.

Nothing here imports Flask, RQ, SQLAlchemy or any other part of ``wxflow`` outside
``wxflow.vision``; benchmarks and tests call these functions directly.
"""
