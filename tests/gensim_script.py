"""A script written for gensim 4, from gensim's documentation: phrases, a vocabulary, training with
a callback that prints the loss of each epoch, online updates with negative sampling and with
hierarchical softmax, save and load, evaluation, and the error a truncated vectors file raises.

tests/test_gensim_script.py runs it as it is, under gensim, and with only the import block below
changed, under w2v, then compares what it prints. Do not change the code below the imports to suit
w2v: that is what the test is for.

    python gensim_script.py CORPUS.txt DATA_DIR PAIRS.tsv OUT_DIR

DATA_DIR holds wordsim353.tsv and questions-words.txt; PAIRS.tsv is more word pairs with a
similarity each, in WordSim-353's format (the test makes them from the corpus' co-occurrences).
"""
# --- imports (the only lines that change between the two runs)
from gensim.models import Word2Vec, KeyedVectors
from gensim.models.word2vec import LineSentence
from gensim.models.phrases import Phrases, ENGLISH_CONNECTOR_WORDS
from gensim.models.callbacks import CallbackAny2Vec
# --- end of imports

import json
import logging
import os
import sys

logging.basicConfig(format="%(asctime)s : %(levelname)s : %(message)s", level=logging.WARNING)

corpus_path, data_dir, pairs_path, out_dir = sys.argv[1:5]
report = {}


class LossLogger(CallbackAny2Vec):
    """Print the loss after each epoch (get_latest_training_loss is the sum since train() began)."""

    def __init__(self):
        self.epoch = 0
        self.loss_to_be_subed = 0
        self.losses = []

    def on_epoch_end(self, model):
        loss = model.get_latest_training_loss()
        loss_now = loss - self.loss_to_be_subed
        self.loss_to_be_subed = loss
        print("Loss after epoch {}: {}".format(self.epoch, loss_now))
        self.losses.append(loss_now)
        self.epoch += 1


# --- phrases: detect common bigrams, then train on the corpus with them joined
sentences = LineSentence(corpus_path)
phrase_model = Phrases(sentences, min_count=5, threshold=10, connector_words=ENGLISH_CONNECTOR_WORDS)
frozen = phrase_model.freeze()
report["phrases"] = sorted(frozen.phrasegrams)
print("{} phrases, such as {}".format(len(frozen.phrasegrams), report["phrases"][:5]))
phrased = [frozen[sentence] for sentence in sentences]
first, more = phrased[: len(phrased) * 3 // 4], phrased[len(phrased) * 3 // 4:]

# --- vocabulary, then training with a callback
logger_cb = LossLogger()
# one worker: gensim's threads each add to their own copy of the loss and overwrite the model's
model = Word2Vec(vector_size=32, window=5, min_count=5, workers=1, sg=1, negative=5, epochs=5, seed=42)
model.build_vocab(corpus_iterable=first)
report["vocab_size"] = len(model.wv)
report["corpus_count"] = model.corpus_count
report["corpus_total_words"] = model.corpus_total_words
report["counts"] = {w: int(model.wv.get_vecattr(w, "count")) for w in model.wv.index_to_key[:20]}
model.train(corpus_iterable=first, total_examples=model.corpus_count, epochs=model.epochs,
            compute_loss=True, callbacks=[logger_cb])
report["losses"] = logger_cb.losses
report["train_count"] = model.train_count

# --- online training with negative sampling: new sentences, new words
known = set(model.wv.index_to_key)
model.build_vocab(more, update=True)
report["ns_new_words"] = sorted(set(model.wv.index_to_key) - known)
model.train(more, total_examples=model.corpus_count, epochs=model.epochs)
report["ns_vocab_after_update"] = len(model.wv)

# --- the same with hierarchical softmax
hs_model = Word2Vec(first, vector_size=32, window=5, min_count=5, workers=2, sg=0, hs=1, negative=0, epochs=5,
                    seed=42)
hs_known = set(hs_model.wv.index_to_key)
hs_model.build_vocab(more, update=True)
report["hs_new_words"] = sorted(set(hs_model.wv.index_to_key) - hs_known)
hs_model.train(more, total_examples=hs_model.corpus_count, epochs=hs_model.epochs)
report["hs_vocab_after_update"] = len(hs_model.wv)
report["hs_score"] = [float(x) for x in hs_model.score(more[:50], total_sentences=50)]

# --- evaluation
pearson, spearman, oov = model.wv.evaluate_word_pairs(os.path.join(data_dir, "wordsim353.tsv"))
report["wordsim_spearman"] = float(spearman[0])
report["wordsim_oov"] = float(oov)
accuracy, sections = model.wv.evaluate_word_analogies(os.path.join(data_dir, "questions-words.txt"))
report["analogy_accuracy"] = float(accuracy)
report["analogy_questions"] = sum(len(s["correct"]) + len(s["incorrect"]) for s in sections)
for name, m in (("ns", model), ("hs", hs_model)):
    report[name + "_pairs_spearman"] = float(m.wv.evaluate_word_pairs(pairs_path)[1][0])
    print("{}: {}".format(name, m.wv.most_similar("water", topn=5)))

# --- save and load
model_path = os.path.join(out_dir, "word2vec.model")
model.save(model_path)
loaded = Word2Vec.load(model_path)
report["loaded_same_vectors"] = bool((loaded.wv.vectors == model.wv.vectors).all())
loaded.train(more[:100], total_examples=100, epochs=1)  # a loaded model trains on
vectors_path = os.path.join(out_dir, "vectors.bin")
model.wv.save_word2vec_format(vectors_path, binary=True)
kv = KeyedVectors.load_word2vec_format(vectors_path, binary=True)
report["kv_same_vectors"] = len(kv) == len(model.wv) and all(
    (kv[w] == model.wv[w]).all() for w in model.wv.index_to_key)

# --- a vectors file cut short
with open(vectors_path, "rb") as f:
    data = f.read()
truncated_path = os.path.join(out_dir, "truncated.bin")
with open(truncated_path, "wb") as f:
    f.write(data[: len(data) // 2])
try:
    KeyedVectors.load_word2vec_format(truncated_path, binary=True)
    report["truncated"] = "loaded"
except EOFError:
    report["truncated"] = "EOFError"

print("REPORT " + json.dumps(report))
