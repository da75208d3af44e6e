"""Callbacks as gensim's: w2v.callbacks.CallbackAny2Vec subclasses and gensim's own callback
objects are called by Word2Vec.train with the model, in gensim's order."""
import itertools

import pytest

from w2v import Word2Vec
from w2v.callbacks import CallbackAny2Vec

SENTENCES = [["a", "b", "c", "d"], ["b", "c", "e"], ["a", "e", "d", "c"]] * 20


def recorder(base):
    class Recorder(base):
        def __init__(self):
            self.events = []

        def on_train_begin(self, model):
            self.events.append(("train_begin", model))

        def on_epoch_begin(self, model):
            self.events.append(("epoch_begin", model))

        def on_epoch_end(self, model):
            # gensim's: the loss summed since this train() call began
            self.events.append(("epoch_end", model.get_latest_training_loss()))

        def on_train_end(self, model):
            self.events.append(("train_end", model))

    return Recorder()


def expected(model, losses, epochs):
    events = [("train_begin", model)]
    for loss in itertools.accumulate(losses):
        events += [("epoch_begin", model), ("epoch_end", loss)]
    return events + [("train_end", model)]


def test_w2v_callback_is_called_in_gensims_order():
    cb = recorder(CallbackAny2Vec)
    model = Word2Vec(SENTENCES, vector_size=8, min_count=1, epochs=3, seed=1, workers=1, callbacks=[cb])
    losses = [e["loss"] for e in model.epoch_stats]
    assert len(losses) == 3 and all(loss > 0 for loss in losses)
    assert cb.events == expected(model, losses, 3)


def test_a_gensim_callback_object_works_unchanged():
    gensim_callbacks = pytest.importorskip("gensim.models.callbacks")
    cb = recorder(gensim_callbacks.CallbackAny2Vec)
    model = Word2Vec(SENTENCES, vector_size=8, min_count=1, epochs=2, seed=1, workers=1)
    model.train(SENTENCES, total_examples=len(SENTENCES), epochs=2, callbacks=[cb])
    assert cb.events == expected(model, [e["loss"] for e in model.epoch_stats[-2:]], 2)


def test_the_base_class_methods_do_nothing_and_match_gensims_names():
    gensim_callbacks = pytest.importorskip("gensim.models.callbacks")
    public = {n for n in dir(gensim_callbacks.CallbackAny2Vec) if not n.startswith("_")}
    assert public == {n for n in dir(CallbackAny2Vec) if not n.startswith("_")}
    model = Word2Vec(SENTENCES, vector_size=8, min_count=1, epochs=1, seed=1, workers=1,
                     callbacks=[CallbackAny2Vec()])
    assert len(model.epoch_stats) == 1
