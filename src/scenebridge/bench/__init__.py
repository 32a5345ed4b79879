"""System benchmarks (store, parse, turn, rerank): the only non-face package that builds the agent."""
