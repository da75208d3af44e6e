"""Callbacks: objects whose methods Word2Vec.train calls with the model (gensim's protocol).

Any object works; `CallbackAny2Vec` is gensim's base class, whose methods do nothing, so a
subclass defines only those it needs. Code written for gensim's
`gensim.models.callbacks.CallbackAny2Vec` runs unchanged with the import changed, and a gensim
callback object can be passed as it is. As in gensim 4, there is no per-batch hook.
"""


class CallbackAny2Vec:
    """Base class for training callbacks; each method receives the model being trained."""

    def on_epoch_begin(self, model):
        """Called before each epoch."""

    def on_epoch_end(self, model):
        """Called after each epoch, once its loss is recorded (model.get_latest_training_loss())."""

    def on_train_begin(self, model):
        """Called once at the start of each train() call."""

    def on_train_end(self, model):
        """Called once at the end of each train() call."""
