"""The errors w2v raises beyond Python's own; each is also the builtin class that existing
`except` clauses catch."""


class TrainingDivergedError(FloatingPointError, ValueError):
    """The loss or the weights became NaN or infinite during training (learning rate too high,
    or a bad initialisation); training stopped instead of going on with broken vectors. A
    ValueError too, as a bad setting is."""
