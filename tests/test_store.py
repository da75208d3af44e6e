"""The corpus store on disk: the same ids and bounds as the corpus in RAM, blocks every epoch
visits once, a cache reused only while it is valid, damage caught before numba reads it."""
import bz2
import gzip
import os
import threading
import time

import numpy as np
import pytest

from w2v import Word2Vec, corpus, fastscan, plan, store, trainer, vocab
from w2v.errors import DamagedFileError
from w2v.vocab import EncodedCorpus, Vocab

pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")


def ram_encoding(corpus_file, max_len, min_count):
    found = vocab.scan_files(corpus.corpus_files(corpus_file), max_len)
    voc = Vocab.from_counts(zip(found.words, found.counts.tolist()), min_count=min_count)
    return voc, vocab.encode(found, voc)


def store_of(cache, corpus_file, max_len=corpus.MAX_SENTENCE_LENGTH, min_count=1, progress=None, **scan_options):
    def make(words, counts):
        return Vocab.from_counts(zip(words, counts.tolist()), min_count=min_count)
    return store.build_from_files(cache, corpus_file, max_len, {"min_count": min_count}, make, progress=progress,
                                  **scan_options)


@pytest.fixture
def tiny_buffers(monkeypatch):
    """Spill after every block, read back 16 ids at a time, blocks of 7 words: every buffer
    boundary of the store's path is crossed many times on a small corpus."""
    monkeypatch.setattr(fastscan, "SPILL_IDS", 5)
    monkeypatch.setattr(fastscan, "SPILL_LINES", 2)
    monkeypatch.setattr(store, "ENCODE_WINDOW", 16)
    monkeypatch.setattr(store, "BLOCK_WORDS", 7)


def assert_same_as_ram(tmp_path, corpus_file, max_len=corpus.MAX_SENTENCE_LENGTH, min_count=1,
                       block_bytes=(3, 64, 1 << 20), workers=(1, 2)):
    voc, enc = ram_encoding(corpus_file, max_len, min_count)
    for b in block_bytes:
        for w in workers:
            st = store_of(tmp_path / f"cache-{b}-{w}", corpus_file, max_len, min_count, block_bytes=b, workers=w)
            assert st.vocab.index_to_key == voc.index_to_key and st.vocab.counts.tolist() == voc.counts.tolist()
            got = st.to_memory()
            assert np.array_equal(got.ids, enc.ids) and np.array_equal(got.bounds, enc.bounds)
            assert (st.n_words, st.n_sentences) == (enc.n_words, enc.n_sentences)
            assert not any(p.name.startswith("spill") for p in st.path.iterdir())
            # blocks: whole sentences, at least BLOCK_WORDS words but the last
            assert np.all(st.block_words[:-1] >= store.BLOCK_WORDS)
            assert np.array_equal(st.block_bounds, enc.bounds[st.block_sents])
    return enc


def test_store_equals_the_corpus_in_ram_on_awkward_text(tmp_path, tiny_buffers):
    text = ("héllo wörld\r\nnaïve café\tfaçade\r\n日本語 の テキスト\u3000全角スペース\n"
            "a\x00b \x00 c\x00\n\n   \n")
    once = "singletons only here\nlast line without newline"
    data = (text.encode() + b"x \xff\xfe y a\xc3b a\n") * 3 + once.encode() + b"\n" + ("a b c " * 40).encode()
    path = tmp_path / "u.txt"
    path.write_bytes(data)
    enc = assert_same_as_ram(tmp_path, path, min_count=2)  # min_count 2: whole sentences vanish
    assert enc.n_sentences == 3 * 5 + 1  # blank lines and the lines of singletons give none
    assert_same_as_ram(tmp_path / "len3", path, max_len=3, min_count=1)


def test_store_equals_ram_for_long_lines_and_a_directory_of_compressed_files(tmp_path, tiny_buffers):
    d = tmp_path / "corpus"
    d.mkdir()
    lines = [" ".join(f"w{i % 13}" for i in range(n)) for n in (1, 25, 26, 51, 0, 3)]
    (d / "a.txt").write_text("\n".join(lines))
    with gzip.open(d / "b.txt.gz", "wt") as f:
        f.write("tail of a\nline with no newline")
    (d / "c.txt").write_bytes(b"")
    with bz2.open(d / "d.txt.bz2", "wt") as f:
        f.write("w1 w2\n\n\nw3")
    for max_len in (1, 4, 25, 10_000):
        assert_same_as_ram(tmp_path / f"m{max_len}", d, max_len=max_len, min_count=1,
                           block_bytes=(5, 1 << 20), workers=(2,))


def test_store_equals_ram_on_a_line_of_two_million_tokens(tmp_path, monkeypatch):
    monkeypatch.setattr(fastscan, "SPILL_IDS", 100_000)
    monkeypatch.setattr(store, "ENCODE_WINDOW", 1 << 16)
    rng = np.random.default_rng(0)
    path = tmp_path / "oneline.txt"
    path.write_text(" ".join(f"t{k}" for k in rng.zipf(1.3, 2_000_000) % 50_000))
    enc = assert_same_as_ram(tmp_path, path, min_count=3, block_bytes=(1 << 20,), workers=(2,))
    assert enc.n_sentences == 200


def global_sentences(st, unit):
    """The corpus's sentence numbers of a unit's sentences, in the order its reader lays them out."""
    return np.concatenate([np.arange(st.block_sents[b], st.block_sents[b + 1]) for b in unit.blocks])


def test_a_unit_reads_its_blocks_as_the_corpus_has_them(tmp_path, demo_file, monkeypatch):
    monkeypatch.setattr(store, "BLOCK_WORDS", 3_000)
    st = store_of(tmp_path, demo_file)
    ram = st.to_memory()
    read = st.reader()
    for u in plan.Plan.for_corpus(st, epochs=1, start_alpha=.025, end_alpha=.0001, seed=1).units(0)[:5]:
        ids, bounds, sents = read(u)
        expected = [ram.ids[ram.bounds[g]:ram.bounds[g + 1]] for g in global_sentences(st, u)]
        assert [ids[bounds[k]:bounds[k + 1]].tolist() for k in range(len(expected))] == \
            [e.tolist() for e in expected]
        assert bounds[-1] == u.n_words == ids.shape[0]


def test_each_epoch_visits_every_sentence_once_in_a_new_order(tmp_path, demo_file, monkeypatch):
    monkeypatch.setattr(store, "BLOCK_WORDS", 5_000)
    st = store_of(tmp_path, demo_file)
    assert st.n_blocks > 20
    p = plan.Plan.for_corpus(st, epochs=2, start_alpha=0.025, end_alpha=0.0001, seed=3)
    read = st.reader()
    orders = []
    for e in range(2):
        units = p.units(e)
        assert [u.index for u in units] == list(range(len(units)))
        assert st.blocks_per_unit == 10 and all(len(u.blocks) == 10 for u in units[:-1]) and len(units) > 4
        assert sorted(b for u in units for b in u.blocks) == list(range(st.n_blocks))
        visited = np.concatenate([global_sentences(st, u)[read(u)[2]] for u in units])
        assert np.array_equal(np.sort(visited), np.arange(st.n_sentences))
        assert sum(u.n_words for u in units) == st.n_words
        # the learning rate runs down the schedule in the epoch's order, unit after unit
        assert all(a.lr1 == b.lr0 for a, b in zip(units, units[1:]))
        assert units[0].words_before == 0 and units[-1].words_before + units[-1].n_words == st.n_words
        orders.append(visited)
    assert not np.array_equal(orders[0], orders[1])
    # within a block too, not only the blocks' order
    u = p.units(0)[0]
    assert not np.array_equal(read(u)[2], np.arange(len(read(u)[2])))
    flat = plan.Plan.for_corpus(st, epochs=1, start_alpha=0.025, end_alpha=0.0001, seed=3, shuffle=False)
    visited = np.concatenate([global_sentences(st, u)[read(u)[2]] for u in flat.units(0)])
    assert np.array_equal(visited, np.arange(st.n_sentences))


def test_training_from_one_block_equals_training_from_ram_bit_for_bit(tmp_path, demo_file, monkeypatch):
    """In file order with one worker, a store of one block trains exactly the unit the in-RAM
    corpus makes of the whole corpus: the block path hands the kernel the same words."""
    monkeypatch.setattr(store, "BLOCK_WORDS", 10 ** 12)
    model = Word2Vec(vector_size=10, min_count=2, workers=1, sg=1, negative=3, shuffle=False,
                     corpus_store="memory")
    model.build_vocab(corpus_file=demo_file)
    st = store.build_from_files(tmp_path, demo_file, corpus.MAX_SENTENCE_LENGTH, {"vocab": "x"},
                                lambda w, c: model.vocab)
    assert st.n_blocks == 1
    ram = model._corpus[1]
    results = []
    for corpus_, chunk in ((ram, 10 ** 12), (st, plan.UNIT_WORDS)):
        w = [model.wv.vectors.copy(), model.w_out_hs.copy(), model.w_out_ns.copy()]
        stats = trainer.train(corpus_, *w, model._kernel_tables(), model._kernel_config(), epochs=2, workers=1,
                              start_alpha=0.025, end_alpha=0.0001, seed=1, progress=False, shuffle=False,
                              chunk_words=chunk)
        results.append((w, [s["loss"] for s in stats]))
    (w_ram, loss_ram), (w_store, loss_store) = results
    assert loss_ram == loss_store
    for a, b in zip(w_ram, w_store):
        assert np.array_equal(a, b)
    assert not np.array_equal(w_ram[0], model.wv.vectors)  # it trained


def test_training_from_the_store_learns_as_well_as_from_ram(tmp_path, demo_file, monkeypatch):
    monkeypatch.setattr(store, "BLOCK_WORDS", 10_000)
    kw = dict(vector_size=16, min_count=3, workers=2, sg=0, negative=5, epochs=3, progress=False)
    disk = Word2Vec(corpus_file=demo_file, corpus_store="disk", cache_dir=tmp_path, **kw)
    mem = Word2Vec(corpus_file=demo_file, corpus_store="memory", **kw)
    assert isinstance(disk._corpus[1], store.CorpusStore) and isinstance(mem._corpus[1], EncodedCorpus)
    assert [e["raw_words"] for e in disk.epoch_stats] == [e["raw_words"] for e in mem.epoch_stats]
    per = [m.epoch_stats[-1]["loss"] / m.epoch_stats[-1]["predictions"] for m in (disk, mem)]
    assert abs(per[0] - per[1]) < 0.03 * per[1]
    assert per[0] < disk.epoch_stats[0]["loss"] / disk.epoch_stats[0]["predictions"]


def test_a_second_run_reuses_the_cache_and_a_changed_file_is_read_again(tmp_path, demo_file, monkeypatch):
    corpus_file = tmp_path / "c.txt"
    corpus_file.write_bytes(demo_file.read_bytes())
    cache = tmp_path / "cache"
    kw = dict(vector_size=8, min_count=2, workers=1, epochs=1, progress=False, corpus_store="disk", cache_dir=cache)
    first = Word2Vec(corpus_file=corpus_file, **kw)
    real = fastscan.scan_files
    calls = []
    monkeypatch.setattr(fastscan, "scan_files", lambda *a, **k: calls.append(1) or real(*a, **k))
    second = Word2Vec(corpus_file=corpus_file, **kw)
    assert calls == [] and second._corpus[1].path == first._corpus[1].path
    assert np.array_equal(second.wv.vectors, first.wv.vectors)
    # another min_count is another store
    Word2Vec(corpus_file=corpus_file, **dict(kw, min_count=3))
    assert len(calls) == 1
    # same size, new modification time: the stale store is not used
    st = os.stat(corpus_file)
    os.utime(corpus_file, ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 9))
    third = Word2Vec(corpus_file=corpus_file, **kw)
    assert len(calls) == 2 and third._corpus[1].path != first._corpus[1].path
    assert len(store.list_stores(cache)) == 3
    assert store.clear(cache)[0] == 3 and store.list_stores(cache) == []


def _damage(path, offset, data):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


@pytest.mark.parametrize("damage", ["truncate ids", "flip an id", "change an id", "zeroed ids", "flip a bound",
                                    "garbage index", "no header"])
def test_a_damaged_store_is_detected_and_rebuilt_never_trained_on(tmp_path, demo_file, monkeypatch, damage):
    monkeypatch.setattr(store, "BLOCK_WORDS", 20_000)
    cache = tmp_path / "cache"
    st = store_of(cache, demo_file)
    good = st.to_memory()
    p = st.path
    store.CorpusStore(p).verify()  # undamaged, it passes
    if damage == "truncate ids":
        os.truncate(p / "ids.i32", 4 * st.n_words - 4)
    elif damage == "flip an id":
        _damage(p / "ids.i32", 4 * 123_456 + 3, b"\x7f")  # outside the vocabulary
    elif damage == "change an id":  # another word of the vocabulary: only a checksum tells
        _damage(p / "ids.i32", 4 * 123_456, np.int32((good.ids[123_456] + 1) % len(st.vocab)).tobytes())
    elif damage == "zeroed ids":  # what a power cut can leave of pages never written back (no fsync)
        _damage(p / "ids.i32", 4 * 100_000, bytes(8192))
    elif damage == "flip a bound":
        _damage(p / "bounds.i64", 8 * (st.n_sentences // 2), np.int64(5).tobytes())
    elif damage == "garbage index":
        (p / "index.npz").write_bytes(b"PK\x03\x04 not a zip")
    else:
        os.remove(p / "header.json")
    if damage != "no header":
        with pytest.raises(DamagedFileError, match="corpus store"):
            store.CorpusStore(p).verify()
    if damage.startswith(("flip", "change", "zeroed")):
        # the reader checks each block before handing it to numba
        read = store.CorpusStore(p).reader()
        units = plan.Plan.for_corpus(st, epochs=1, start_alpha=.025, end_alpha=.0001, seed=1).units(0)
        with pytest.raises(DamagedFileError, match="block"):
            for u in units:
                read(u)
    rebuilt = store_of(cache, demo_file)
    got = rebuilt.to_memory()
    assert np.array_equal(got.ids, good.ids) and np.array_equal(got.bounds, good.bounds)


def test_a_damaged_cached_store_is_reported_as_rebuilt_not_as_something_to_delete(tmp_path, demo_file, caplog):
    import logging
    st = store_of(tmp_path, demo_file)
    _damage(st.path / "ids.i32", 4 * 1_000 + 3, b"\x7f")
    log = logging.getLogger("w2v.test_rebuild")
    with caplog.at_level(logging.WARNING, logger=log.name):
        assert store.open_cached(tmp_path, st.path.name, log) is None
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and said[0].endswith(": rebuilding it") and "checksum mismatch" in said[0]
    assert "delete it" not in said[0] and not st.path.exists()


def test_damage_during_training_stops_it_with_a_clear_error(tmp_path, demo_file):
    m = Word2Vec(vector_size=8, min_count=2, workers=2, epochs=1, progress=False, corpus_store="disk",
                 cache_dir=tmp_path)
    m.build_vocab(corpus_file=demo_file)
    _damage(m._corpus[1].path / "ids.i32", 4 * 200_000, b"\xff\xff\xff\x7f")
    with pytest.raises(DamagedFileError, match="checksum"):
        m.train()


def test_a_store_read_whole_is_marked_and_the_next_run_trusts_it_without_a_whole_pass(
        tmp_path, demo_file, monkeypatch):
    """Once every block was read and checked (an epoch), the store's files are fsynced and then
    marked: a later open skips verify (the cached pass reads no ids). Not before: a store built
    and read in part, or one whose fsync failed, stays unmarked and is verified on each open."""
    monkeypatch.setattr(store, "BLOCK_WORDS", 20_000)
    cache = tmp_path / "cache"
    st = store_of(cache, demo_file)
    assert not st.verified and not st.mark_verified()  # built, nothing read yet
    read = st.reader()
    units = plan.Plan.for_corpus(st, epochs=1, start_alpha=.025, end_alpha=.0001, seed=1).units(0)
    assert len(units) > 1
    read(units[0])
    assert not st.mark_verified() and not (st.path / store.VERIFIED).exists()
    for u in units[1:]:
        read(u)
    synced, real_fsync = [], os.fsync

    def failing_fsync(fd):
        raise OSError(5, "Input/output error")
    monkeypatch.setattr(os, "fsync", failing_fsync)
    assert not st.mark_verified() and not (st.path / store.VERIFIED).exists()

    def recording_fsync(fd):
        synced.append((os.readlink(f"/proc/self/fd/{fd}"), (st.path / store.VERIFIED).exists()))
        real_fsync(fd)
    monkeypatch.setattr(os, "fsync", recording_fsync)
    assert st.mark_verified() and (st.path / store.VERIFIED).exists()
    # the ids and bounds were synced before the marker existed
    assert [(os.path.basename(f), marked) for f, marked in synced[:2]] == [("ids.i32", False), ("bounds.i64", False)]
    monkeypatch.setattr(store.CorpusStore, "verify", lambda self, *a, **k: pytest.fail("a marked store was read whole"))
    again = store_of(cache, demo_file)
    assert again.path == st.path and again.verified

    # through the API: the first run's epoch marks its store, the second run trains without verify
    kw = dict(vector_size=8, min_count=2, workers=2, epochs=1, progress=False, corpus_store="disk",
              cache_dir=tmp_path / "api")
    first = Word2Vec(corpus_file=demo_file, **kw)
    assert first._corpus[1].verified
    second = Word2Vec(corpus_file=demo_file, **kw)
    assert second._corpus[1].path == first._corpus[1].path \
        and second.epoch_stats[0]["raw_words"] == second._corpus[1].n_words


def test_a_marker_of_another_store_is_not_trusted(tmp_path, demo_file, demo_sentences, monkeypatch):
    kw = dict(vector_size=8, min_count=2, workers=1, epochs=1, progress=False, corpus_store="disk",
              cache_dir=tmp_path)
    marked = Word2Vec(corpus_file=demo_file, **kw)._corpus[1]
    other = tmp_path / "other.txt"
    other.write_text("\n".join(" ".join(s) for s in demo_sentences[:3000]))
    m = Word2Vec(**kw)
    m.build_vocab(corpus_file=other)
    unmarked = m._corpus[1]
    assert marked.verified and not unmarked.verified
    (unmarked.path / store.VERIFIED).write_bytes((marked.path / store.VERIFIED).read_bytes())
    assert not store.CorpusStore(unmarked.path).verified
    listed = {e["path"]: e["verified"] for e in store.list_stores(tmp_path)}  # `w2v cache --list` agrees
    assert listed == {str(marked.path): True, str(unmarked.path): False}
    (unmarked.path / store.VERIFIED).write_text("not json {")
    assert not store.CorpusStore(unmarked.path).verified


def test_damage_to_a_marked_store_stops_training_and_the_next_run_rebuilds_it(tmp_path, demo_file):
    """A flipped bit after the store was marked: caught by the block's check as training reads it
    (never trained on), the marker removed, and the next run verifies the store and rebuilds it."""
    kw = dict(vector_size=8, min_count=2, workers=2, epochs=1, progress=False, corpus_store="disk",
              cache_dir=tmp_path)
    first = Word2Vec(corpus_file=demo_file, **kw)
    st = first._corpus[1]
    good = st.to_memory()
    assert st.verified
    at = 200_000  # another word of the vocabulary: only the checksum tells
    _damage(st.path / "ids.i32", 4 * at, np.int32((good.ids[at] + 1) % len(st.vocab)).tobytes())
    m = Word2Vec(**kw)
    m.build_vocab(corpus_file=demo_file)  # trusted: the marker is there
    assert m._corpus[1].path == st.path
    with pytest.raises(DamagedFileError, match="checksum"):
        m.train()
    assert not (st.path / store.VERIFIED).exists()
    again = Word2Vec(corpus_file=demo_file, **kw)  # verified whole, found damaged, rebuilt
    got = again._corpus[1].to_memory()
    assert np.array_equal(got.ids, good.ids) and again._corpus[1].verified


def test_a_private_store_is_never_marked(tmp_path, demo_sentences):
    m = Word2Vec(demo_sentences, vector_size=8, min_count=2, workers=1, epochs=1, progress=False,
                 corpus_store="disk", cache_dir=tmp_path)
    st = m._corpus[1]
    assert st.private and st.checked.all() and not st.verified and not (st.path / store.VERIFIED).exists()


def test_auto_chooses_the_store_by_size_and_the_cache_dir_by_setting(tmp_path, demo_file, monkeypatch):
    kw = dict(vector_size=8, min_count=2, workers=1, epochs=1, progress=False)
    assert isinstance(Word2Vec(corpus_file=demo_file, **kw)._corpus[1], EncodedCorpus)
    monkeypatch.setattr(store, "AUTO_TEXT_BYTES", os.path.getsize(demo_file))
    monkeypatch.setenv("W2V_CACHE_DIR", str(tmp_path / "env"))
    m = Word2Vec(corpus_file=demo_file, **kw)
    assert isinstance(m._corpus[1], store.CorpusStore) and m._corpus[1].path.parent == tmp_path / "env"
    m = Word2Vec(corpus_file=demo_file, cache_dir=tmp_path / "given", **kw)
    assert m._corpus[1].path.parent == tmp_path / "given"
    # a list stays in RAM; so does what corpus_store="memory" asks for
    assert isinstance(Word2Vec([["a", "b"]] * 50, **kw)._corpus[1], EncodedCorpus)
    assert isinstance(Word2Vec(corpus_file=demo_file, corpus_store="memory", **kw)._corpus[1], EncodedCorpus)
    with pytest.raises(ValueError, match="corpus_store"):
        Word2Vec(corpus_store="ssd")


def test_train_on_another_file_with_this_vocabulary_uses_a_store_too(tmp_path, demo_file, demo_sentences):
    kw = dict(vector_size=8, min_count=2, workers=1, epochs=1, progress=False, corpus_store="disk",
              cache_dir=tmp_path / "cache")
    m = Word2Vec(corpus_file=demo_file, **kw)
    other = tmp_path / "other.txt"
    other.write_text("\n".join(" ".join(s) for s in demo_sentences[:2000]) + "\nzzzunknown qqqunknown\n")
    _, raw = m.train(corpus_file=other)
    index = m.vocab.key_to_index
    expected = sum(1 for s in demo_sentences[:2000] for w in s if w in index)
    assert raw == expected
    assert len(store.list_stores(tmp_path / "cache")) == 2


def test_a_stale_build_of_a_dead_process_is_removed(tmp_path, demo_file):
    cache = tmp_path / "cache"
    cache.mkdir()
    dead = cache / f"{'0' * 24}{store._BUILDING}999999999-1"
    dead.mkdir()
    (dead / "ids.i32").write_bytes(b"1234")
    mine = cache / f"{'0' * 24}{store._BUILDING}{os.getpid()}-1"
    mine.mkdir()
    store_of(cache, demo_file)
    assert not dead.exists() and mine.exists()


@pytest.mark.parametrize("mode,after", [("disk", 0), ("auto", 5_000)])
def test_an_iterable_is_spilled_into_a_private_store_equal_to_the_ram_encoding(
        tmp_path, demo_sentences, monkeypatch, mode, after):
    monkeypatch.setattr(vocab, "SPILL_CHUNK", 777)
    monkeypatch.setattr(store, "AUTO_ITERABLE_TOKENS", after)
    monkeypatch.setattr(store, "BLOCK_WORDS", 3_000)
    sents = [list(s) for s in demo_sentences[:3000]] + [[], ["w"] * 25_003, ["zzz"]]
    kw = dict(vector_size=8, min_count=2, workers=1, epochs=1, progress=False)
    disk = Word2Vec(sents, corpus_store=mode, cache_dir=tmp_path, **kw)
    mem = Word2Vec(sents, corpus_store="memory", **kw)
    st, enc = disk._corpus[1], mem._corpus[1]
    assert isinstance(st, store.CorpusStore) and isinstance(enc, EncodedCorpus)
    assert st.vocab.index_to_key == mem.vocab.index_to_key and st.vocab.counts.tolist() == mem.vocab.counts.tolist()
    got = st.to_memory()
    assert np.array_equal(got.ids, enc.ids) and np.array_equal(got.bounds, enc.bounds)
    assert disk.epoch_stats[0]["raw_words"] == enc.n_words
    # training on it again, and on another list, goes through private stores too
    _, raw = disk.train(sents[:100])
    assert raw == sum(1 for s in sents[:100] for w in s if w in mem.vocab.key_to_index)
    path = st.path
    del disk, st
    import gc
    gc.collect()
    assert not path.exists() and [p for p in tmp_path.iterdir() if p.name.startswith("iterable")] == []


def test_an_iterable_below_the_auto_size_stays_in_ram_and_failures_leave_nothing(tmp_path, demo_sentences):
    kw = dict(vector_size=8, workers=1, epochs=1, progress=False, cache_dir=tmp_path)
    assert isinstance(Word2Vec(demo_sentences[:500], min_count=2, **kw)._corpus[1], EncodedCorpus)
    with pytest.raises(ValueError, match="empty vocabulary"):
        Word2Vec(demo_sentences[:500], min_count=10 ** 6, corpus_store="disk", **kw)
    assert list(tmp_path.iterdir()) == []
    dead = tmp_path / "iterable-999999999-abcdef012345"
    dead.mkdir()
    Word2Vec(demo_sentences[:500], min_count=2, corpus_store="disk", **kw)
    assert not dead.exists()


def test_phrases_output_trains_from_a_store(tmp_path, demo_file, monkeypatch):
    from w2v.cli import main
    cache = tmp_path / "cache"
    stored = []
    real = store.SpillDirs.store
    monkeypatch.setattr(store.SpillDirs, "store", lambda self, *a: stored.append(1) or real(self, *a))
    assert main(["train", "-train", str(demo_file), "-output", str(tmp_path / "v.txt"), "-size", "8", "-iter", "1",
                 "-threads", "1", "-phrases", "1", "-corpus-store", "disk", "-cache-dir", str(cache)]) == 0
    assert any("_" in line.split()[0] for line in (tmp_path / "v.txt").read_text().splitlines()[1:])
    assert stored == [1]


def test_a_build_that_loses_the_race_uses_the_winner_s_store_and_leaves_nothing(tmp_path, demo_file):
    cache = tmp_path / "cache"
    first = store_of(cache, demo_file)
    building = store._building_dir(cache, first.path.name)
    (building / "ids.i32").write_bytes(b"partial")
    got = store._install(building, first.path)
    assert got.path == first.path and not building.exists()
    assert [p.name for p in cache.iterdir()] == [first.path.name]


def test_the_first_pass_reports_its_progress_in_bytes(tmp_path, demo_file):
    seen = []
    store_of(tmp_path, demo_file, block_bytes=100_000, progress=seen.append)
    assert len(seen) > 5 and seen == sorted(seen) and seen[-1] == os.path.getsize(demo_file)


def test_the_cache_commands_touch_only_w2v_s_own_directories(tmp_path, demo_file):
    cache = tmp_path / "home"
    cache.mkdir()
    for name in ("Documents", "iterable-notes", "0123", "abc.building-1-2", "a" * 24 + "x"):
        (cache / name).mkdir()
        (cache / name / "precious.txt").write_text("keep me")
    (cache / "file.txt").write_text("keep me too")
    st = store_of(cache, demo_file)
    assert [e["path"] for e in store.list_stores(cache)] == [str(st.path)]
    assert store.clear(cache)[0] == 1 and not st.path.exists()
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        ["Documents", "iterable-notes", "0123", "abc.building-1-2", "a" * 24 + "x", "file.txt"])


def test_max_vocab_size_builds_the_store_in_one_pruned_pass(tmp_path, demo_file, monkeypatch):
    """The compiled pass prunes, so a corpus file with max_vocab_size trains from the disk store;
    its vocabulary has the pruned pass's words with their exact counts, and the setting is part
    of the store's key."""
    from collections import Counter
    monkeypatch.setattr(store, "BLOCK_WORDS", 500)
    true = Counter(demo_file.read_text(encoding="utf-8").split())
    cache = tmp_path / "cache"
    kw = dict(vector_size=8, min_count=3, workers=2, epochs=1, progress=False, corpus_store="disk", cache_dir=cache)
    model = Word2Vec(corpus_file=demo_file, max_vocab_size=2000, **kw)
    on_disk = model._corpus[1]
    assert isinstance(on_disk, store.CorpusStore) and len(true) > 10_000
    assert 100 < len(model.wv) <= 2000 and all(true[w] == c for w, c in zip(model.vocab.index_to_key,
                                                                            model.vocab.counts.tolist()))
    # the store holds every token of the kept words, in their sentences (the same pass in RAM,
    # reading blocks of the same size: which words are kept depends on it)
    found = vocab.scan_files([demo_file], block_bytes=fastscan.SPILL_BLOCK_BYTES, max_vocab_size=2000)
    assert found.pruned
    voc = Vocab.from_counts(zip(found.words, found.counts.tolist()), min_count=3)
    assert voc.index_to_key == model.vocab.index_to_key
    got, want = on_disk.to_memory(), vocab.encode(found, voc)
    assert np.array_equal(got.ids, want.ids) and np.array_equal(got.bounds, want.bounds)
    assert got.n_words == int(model.vocab.counts.sum())
    assert len(store.list_stores(cache)) == 1
    Word2Vec(corpus_file=demo_file, max_vocab_size=3000, **kw)
    Word2Vec(corpus_file=demo_file, **kw)
    assert len(store.list_stores(cache)) == 3
    Word2Vec(corpus_file=demo_file, max_vocab_size=2000, **kw)  # found in the cache
    assert len(store.list_stores(cache)) == 3


def test_a_failed_write_on_the_writer_thread_is_raised_not_lost(tmp_path):
    """The store's file writes run on a thread of their own: a write that fails there (a full
    disk) must stop the build with that error, never leave a store that looks finished."""
    (tmp_path / "s").mkdir()
    writer = store.StoreWriter(tmp_path / "s", block_words=4)

    class Full:
        def __init__(self, f):
            self.f = f

        def write(self, buf):
            raise OSError(28, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.f, name)
    writer.f_ids = Full(writer.f_ids)
    writer.add(np.arange(6, dtype=np.int32), np.array([2, 4]))
    with pytest.raises(OSError, match="No space left"):
        for _ in range(10):  # the error surfaces at the next call once the thread has met it
            writer.add(np.arange(6, dtype=np.int32), np.array([3, 3]))
        writer.finish(None, {})  # the writes are waited for before the vocabulary is looked at
    assert not (tmp_path / "s" / "header.json").exists()
    writer.abort()


def _serial_block_index(ids, lengths, block_words):
    """The blocks' ends and FNV-1a checksums, one id after the other (the index's definition)."""
    mask, prime, offset = (1 << 64) - 1, int(store._FNV_PRIME), int(store._FNV_OFFSET)
    ends, sums = [], []
    words, h_ids, h_bounds, t, bound = 0, offset, offset, 0, 0
    for j, n in enumerate(lengths.tolist()):
        for x in ids[t:t + n].tolist():
            h_ids = ((h_ids ^ (x & mask)) * prime) & mask
        t += n
        bound += n
        h_bounds = ((h_bounds ^ bound) * prime) & mask
        words += n
        if words >= block_words:
            ends.append([j + 1, bound])
            sums.append((h_ids, h_bounds))
            words, h_ids, h_bounds = 0, offset, offset
    if words:
        ends.append([len(lengths), bound])
        sums.append((h_ids, h_bounds))
    return ends, sums


@pytest.mark.parametrize("block_words", [1, 3, 7, 50, 10 ** 6])
def test_block_checksums_equal_one_serial_pass_whatever_the_calls(tmp_path, block_words):
    """The writer checksums several blocks side by side, and a block may begin in one add() and
    end several calls later: the index must be the one of a single pass over the corpus."""
    rng = np.random.default_rng(block_words)
    lengths = rng.integers(1, 12, 600)
    ids = rng.integers(0, 1 << 31, int(lengths.sum())).astype(np.int32)
    cuts = np.unique(np.concatenate([[0, 600], rng.integers(0, 600, 25)]))
    writer = store.StoreWriter(tmp_path, block_words=block_words)
    try:
        for a, b in zip(cuts[:-1], cuts[1:]):
            t0, t1 = int(lengths[:a].sum()), int(lengths[:b].sum())
            writer.add(ids[t0:t1], lengths[a:b], owned=bool(a % 2))
        writer.finish(Vocab(["w"], np.array([1])), {})
    finally:
        writer.abort()
    ends, sums = _serial_block_index(ids, lengths, block_words)
    assert writer.ends[:writer.n_blocks].tolist() == ends
    assert [tuple(map(int, s)) for s in writer.sums[:writer.n_blocks]] == sums
    assert np.array_equal(np.fromfile(tmp_path / "ids.i32", dtype=np.int32), ids)


def _spilled(tmp_path, text, **options):
    path = tmp_path / "c.txt"
    path.write_text(text)
    spill_dir = tmp_path / "spill"
    spill_dir.mkdir()
    scan = fastscan.scan_files([path], spill_dir=spill_dir, **options)
    return scan, np.arange(len(scan.words) + 1, dtype=np.int32)


@pytest.mark.parametrize("cut", ["ids", "lines"])
def test_a_truncated_spill_is_a_damaged_file_error_and_the_encoding_thread_ends(tmp_path, monkeypatch, cut):
    monkeypatch.setattr(store, "ENCODE_WINDOW", 16)
    scan, remap = _spilled(tmp_path, "a b c d\ne f\n" * 50)
    path = scan.spill.ids_path if cut == "ids" else scan.spill.lines_path
    os.truncate(path, os.path.getsize(path) - 8)
    (tmp_path / "s").mkdir()
    writer = store.StoreWriter(tmp_path / "s")
    with pytest.raises(DamagedFileError, match="spill"):
        store.encode_spill(scan.spill, remap, 10_000, writer)
    writer.abort()
    assert not [t for t in threading.enumerate() if t.name == "w2v-store-encode"]


def test_an_error_of_the_writer_stops_the_encoding_thread(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "ENCODE_WINDOW", 16)
    scan, remap = _spilled(tmp_path, "a b c d\ne f\n" * 500)
    (tmp_path / "s").mkdir()
    writer = store.StoreWriter(tmp_path / "s")
    calls = []

    def add(ids, lengths, owned=False):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
    monkeypatch.setattr(writer, "add", add)
    with pytest.raises(OSError, match="No space left"):
        store.encode_spill(scan.spill, remap, 10_000, writer)
    writer.abort()
    assert len(calls) == 3
    assert not [t for t in threading.enumerate() if t.name == "w2v-store-encode"]


class _SlowIds:
    """A spill-ids file whose writes take a while and may fail: the counting thread goes on
    meanwhile, and must neither touch the ids being written nor lose the error."""

    def __init__(self, f, fail=False):
        self.f, self.fail = f, fail

    def write(self, buf):
        time.sleep(0.005)
        if self.fail:
            raise OSError(28, "No space left on device")
        return self.f.write(buf)

    def __getattr__(self, name):
        return getattr(self.f, name)


def _slow_spill_ids(monkeypatch, fail=False):
    real_open = open

    def spill_open(path, *args, **kwargs):
        f = real_open(path, *args, **kwargs)
        return _SlowIds(f, fail) if str(path).endswith("spill-ids.i32") else f
    monkeypatch.setattr(fastscan, "open", spill_open, raising=False)


def test_spilled_ids_written_on_their_own_thread_are_the_ids(tmp_path, demo_file, monkeypatch):
    monkeypatch.setattr(fastscan, "SPILL_IDS", 3_000)
    _slow_spill_ids(monkeypatch)
    voc, enc = ram_encoding(demo_file, corpus.MAX_SENTENCE_LENGTH, 3)
    st = store_of(tmp_path / "c", demo_file, min_count=3, block_bytes=20_000, workers=2)
    got = st.to_memory()
    assert np.array_equal(got.ids, enc.ids) and np.array_equal(got.bounds, enc.bounds)


def test_a_failed_spill_write_stops_the_pass_with_its_error(tmp_path, demo_file, monkeypatch):
    monkeypatch.setattr(fastscan, "SPILL_IDS", 3_000)
    _slow_spill_ids(monkeypatch, fail=True)
    with pytest.raises(OSError, match="No space left"):
        store_of(tmp_path / "c", demo_file, min_count=3, block_bytes=20_000, workers=2)
    assert not [t for t in threading.enumerate() if t.name.startswith("w2v-scan-spill")]
    assert not list((tmp_path / "c").glob("*/spill-*"))


def test_block_checksums_are_fnv1a_of_each_block(tmp_path, demo_file):
    """The writer and the verifier hash several blocks side by side (_fnv_segments); each block's
    sums must be store.checksum (FNV-1a) of its ids and of its sentence ends, block by block."""
    st = store_of(tmp_path / "cache", demo_file)
    ids = np.fromfile(st.path / "ids.i32", dtype=np.int32)
    bounds = np.fromfile(st.path / "bounds.i64", dtype=np.int64)
    assert st.n_blocks > 8  # several groups of four blocks and a remainder
    for b in range(st.n_blocks):
        w0, w1 = st.block_bounds[b], st.block_bounds[b + 1]
        s0, s1 = st.block_sents[b], st.block_sents[b + 1]
        assert st.block_sums[b, 0] == store.checksum(ids[w0:w1])
        assert st.block_sums[b, 1] == store.checksum(bounds[s0 + 1:s1 + 1])
