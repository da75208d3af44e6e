"""Backends run the work units of a `w2v.plan.Plan` on weight matrices: `threads` (this
process, Hogwild threads)."""
