"""The stages of a turn, one module each, wired by :mod:`scenebridge.agent.turn`: read (the statement in the
session: summary, scene, interest vector), retrieve (candidates minus exclusions), rerank (routed by scene) and
explain (evidence worded, grounded explanations). Each appends to the turn's :class:`~scenebridge.agent.result.Trace`
and passes :class:`~scenebridge.agent.result.ItemRecord` items on."""
