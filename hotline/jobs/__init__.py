"""Jobs: durable background work.

The outbox (`outbox`: a row in the caller's transaction, handed over after the commit), the RQ
backend on Redis (`rq_backend`) and the in-process one of the embedded default (`inline`),
chosen by `backends`; the sweeper that re-hands what Redis missed (`sweeper`) and the leases
that tell a running job from an abandoned one (`leases`). Knows no job's meaning: job names map
to functions in `workers/`.
"""
