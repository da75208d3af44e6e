"""w2v: word2vec embeddings (skip-gram, CBOW; negative sampling, hierarchical and full softmax)."""
from . import _numba_cache  # noqa: F401  (first: compiled kernels cached outside the package)
from .corpus import BrownCorpus, LineSentence, PathLineSentences, Text8Corpus
from .model import Word2Vec
from .vectors import KeyedVectors
from .vocab import RULE_DEFAULT, RULE_DISCARD, RULE_KEEP

__all__ = ["BrownCorpus", "KeyedVectors", "LineSentence", "PathLineSentences", "RULE_DEFAULT", "RULE_DISCARD",
           "RULE_KEEP", "Text8Corpus", "Word2Vec"]
__version__ = "0.1.0"
