"""The errors w2v raises beyond Python's own; each is also the builtin class that existing
`except` clauses catch."""


class TrainingDivergedError(FloatingPointError, ValueError):
    """The loss or the weights became NaN or infinite during training (learning rate too high,
    or a bad initialisation); training stopped instead of going on with broken vectors. A
    ValueError too, as a bad setting is."""


class DamagedFileError(ValueError, EOFError):
    """A file that is truncated or damaged (a header that promises more than the file holds, a
    checksum that does not match, a row cut short); the message names the file. A ValueError, as
    every bad input is, and an EOFError, which gensim's callers catch for a truncated file."""


class NotEnoughMemoryError(MemoryError, ValueError):
    """The matrices asked for need more memory than the machine has available; raised before
    allocating them, with the bytes needed and the settings that ask for them. A ValueError too,
    as a bad setting is."""


class IndexMismatchError(ValueError):
    """A saved nearest-neighbour index that does not belong to the vectors it is loaded with
    (another vocabulary, other values, another vector size), or that another version of its
    library wrote in a layout this one may not read: build it again. A ValueError, as every bad
    input is."""


class CorpusNotFoundError(FileNotFoundError, ValueError):
    """A corpus path that names nothing (or a Brown corpus directory that is not one); a
    FileNotFoundError, and a ValueError as gensim's PathLineSentences raises."""


class EmptyListError(ValueError, ZeroDivisionError):
    """A query that needs a non-empty list of words got an empty one (n_similarity); a
    ValueError, as every bad argument is, and the ZeroDivisionError gensim raises there."""
