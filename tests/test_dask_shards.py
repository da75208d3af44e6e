"""The Dask first pass over byte ranges of one file and over fsspec URLs (backends/dask.py's
first_pass, w2v/shards.py): the same vocabulary, counts, ids and sentence bounds as one pass over
the file on one machine, parts of the store reused while the file is unchanged.

A LocalCluster of 2 worker processes is started once for the module; the memory:// test starts an
in-process one (memory:// is per process).
"""
from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("dask.distributed")

from w2v import Word2Vec, shards  # noqa: E402
from w2v.backends import dask as dask_backend  # noqa: E402

from conftest import dask_client  # noqa: E402
from w2v.store import CorpusStore, ShardedStore  # noqa: E402

SETTINGS = dict(vector_size=16, window=3, min_count=3, negative=3, epochs=1, seed=5, progress=False, workers=1)


@pytest.fixture(scope="module")
def client():
    yield from dask_client(2)


def nasty_text(demo_sentences) -> bytes:
    """The demo corpus' sentences with CRLF line ends, empty lines, unicode and invalid UTF-8, NUL
    bytes and a line of more than 10,000 tokens."""
    lines = [" ".join(s).encode() for s in demo_sentences[:6000]]
    lines[100] = "naïve café 中文 😀 naïve".encode() + b"\r"
    lines[200] = b"bad \xff bytes \xfe\xc3 here \x00 nul"
    lines[300] = b""
    lines[400] = b" ".join(lines[1000:2500])  # ~15,000 tokens
    return b"\n".join(lines) + b"\n\n"


@pytest.fixture(scope="module")
def one_file(tmp_path_factory, demo_sentences):
    path = tmp_path_factory.mktemp("one-file") / "c.txt"
    path.write_bytes(nasty_text(demo_sentences))
    return path


def serial(corpus_file, cache):
    m = Word2Vec(**SETTINGS, corpus_store="disk", cache_dir=cache)
    m.build_vocab(corpus_file=str(corpus_file))
    return m


def on_dask(corpus_file, cache, client, range_bytes):
    m = Word2Vec(**SETTINGS, backend="dask", client=client, cache_dir=cache, dask_options={"range_bytes": range_bytes})
    m.build_vocab(corpus_file=corpus_file)
    return m


def assert_same_pass(a, b):
    """Equal vocabularies, counts, ids and sentence bounds (in corpus order)."""
    assert a.wv.index_to_key == b.wv.index_to_key
    np.testing.assert_array_equal(a.wv.expandos["count"], b.wv.expandos["count"])
    ma, mb = a._corpus[1].to_memory(), b._corpus[1].to_memory()
    np.testing.assert_array_equal(ma.ids, mb.ids)
    np.testing.assert_array_equal(ma.bounds, mb.bounds)


def test_one_file_cut_into_ranges_equals_one_pass_and_trains(client, one_file, tmp_path):
    size = os.path.getsize(one_file)
    ref = serial(one_file, tmp_path / "serial")
    assert isinstance(ref._corpus[1], CorpusStore)
    got = on_dask(str(one_file), tmp_path / "cache", client, range_bytes=size // 5)
    store = got._corpus[1]
    # 5 ranges rounded up to 6 (a multiple of the 2 workers); the ranges the long line crosses own none
    assert isinstance(store, ShardedStore) and 3 <= len(store.parts) <= 6
    assert_same_pass(got, ref)
    got.train(corpus_file=str(one_file), epochs=1)
    assert got.epoch_stats[0]["raw_words"] == ref._corpus[1].n_words
    assert np.isfinite(got.wv.vectors).all() and got.epoch_stats[0]["dask"]["rounds"] >= 1


def test_parts_are_reused_until_the_file_changes(client, demo_sentences, tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes(nasty_text(demo_sentences[:3000]))
    rb = os.path.getsize(path) // 3
    first = on_dask(str(path), tmp_path / "cache", client, rb)._corpus[1]
    stamps = {p: os.stat(os.path.join(p, "header.json")).st_mtime_ns for p in first.paths}
    again = on_dask(str(path), tmp_path / "cache", client, rb)._corpus[1]
    assert again.paths == first.paths
    assert {p: os.stat(os.path.join(p, "header.json")).st_mtime_ns for p in again.paths} == stamps
    with open(path, "ab") as f:
        f.write(b"zzznew " * 5 + b"\n")
    changed = on_dask(str(path), tmp_path / "cache", client, rb)
    assert "zzznew" in changed.wv.key_to_index
    assert not set(changed._corpus[1].paths) & set(first.paths)
    assert_same_pass(changed, serial(path, tmp_path / "serial"))


def test_file_urls_of_a_file_and_a_directory(client, one_file, demo_sentences, tmp_path):
    ref = serial(one_file, tmp_path / "serial")
    url = "file://" + str(one_file)
    got = on_dask(url, tmp_path / "cache", client, range_bytes=os.path.getsize(one_file) // 3)
    assert isinstance(got._corpus[1], ShardedStore)
    assert_same_pass(got, ref)
    got.train(corpus_file=url, epochs=1)
    assert got.epoch_stats[0]["raw_words"] == ref._corpus[1].n_words

    d = tmp_path / "dir"
    d.mkdir()
    lines = [" ".join(s) for s in demo_sentences[:3000]]
    for k in range(3):
        (d / f"part-{k}.txt").write_text("\n".join(lines[k * 1000:(k + 1) * 1000]) + "\n", encoding="utf-8")
    one = on_dask("file://" + str(d), tmp_path / "cache", client, range_bytes=1 << 30)
    assert len(one._corpus[1].parts) == 3
    assert_same_pass(one, serial(d, tmp_path / "serial"))


def test_memory_urls_on_an_in_process_cluster(one_file, tmp_path):
    import gzip

    import fsspec
    from dask.distributed import Client, LocalCluster
    fs = fsspec.filesystem("memory")
    root = f"/w2v-dask-{os.getpid()}"
    data = one_file.read_bytes()
    fs.pipe(f"{root}/c.txt", data)
    fs.pipe(f"{root}/z/c.txt.gz", gzip.compress(data))
    ref = serial(one_file, tmp_path / "serial")
    try:
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
                Client(cluster) as c:
            got = on_dask(f"memory://{root}/c.txt", tmp_path / "cache", c, range_bytes=len(data) // 4)
            assert isinstance(got._corpus[1], ShardedStore)
            assert_same_pass(got, ref)
            # a compressed URL: one shard, read on a worker
            gz = on_dask(f"memory://{root}/z", tmp_path / "cache", c, range_bytes=1000)
            assert isinstance(gz._corpus[1], CorpusStore)
            assert_same_pass(gz, ref)
    finally:
        fs.rm(root, recursive=True)


def test_a_compressed_file_stays_one_shard_read_by_the_driver(client, one_file, tmp_path):
    import gzip
    gz = tmp_path / "c.txt.gz"
    gz.write_bytes(gzip.compress(one_file.read_bytes()))
    assert not shards.sharded(str(gz), range_bytes=1000)
    got = on_dask(str(gz), tmp_path / "cache", client, range_bytes=1000)
    assert isinstance(got._corpus[1], CorpusStore)
    assert_same_pass(got, serial(one_file, tmp_path / "serial"))


def test_url_settings_that_need_this_process_are_refused(client, one_file, tmp_path):
    m = Word2Vec(**SETTINGS, backend="dask", client=client, cache_dir=tmp_path / "cache")
    with pytest.raises(ValueError, match="counted on the Dask workers"):
        m.build_vocab(corpus_file="file://" + str(one_file), trim_rule=lambda w, c, n: 0)
    with pytest.raises(ValueError, match="range_bytes must be an integer"):
        Word2Vec(backend="dask", dask_options={"range_bytes": 0})
