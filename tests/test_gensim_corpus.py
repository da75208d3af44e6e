"""Corpus readers and callbacks as gensim's: the same files through w2v's readers and gensim's
(the referee) give the same token lists."""
import bz2
import gzip
import io

import pytest

import w2v
from w2v import corpus

gensim_w2v = pytest.importorskip("gensim.models.word2vec")

TEXT = ("the quick\tbrown  fox\r\n"
        "\n"
        "   jumps over\u00a0the lazy dog and runs far away into the woods\n"
        "   \n"
        "héllo wörld\x0bvertical\x0cfeed\n"
        "last line without newline")


def sentences(reader):
    return [list(s) for s in reader]


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


@pytest.mark.parametrize("kwargs", [{}, {"max_sentence_length": 3}, {"limit": 3},
                                    {"max_sentence_length": 2, "limit": 0}])
@pytest.mark.parametrize("suffix", ["", ".gz", ".bz2"])
def test_line_sentence(tmp_path, kwargs, suffix):
    path = tmp_path / f"corpus.txt{suffix}"
    opener = {"": open, ".gz": gzip.open, ".bz2": bz2.open}[suffix]
    with opener(path, "wb") as f:
        f.write(TEXT.encode("utf-8"))
    ours = sentences(w2v.LineSentence(str(path), **kwargs))
    assert ours == sentences(gensim_w2v.LineSentence(str(path), **kwargs))
    assert ours == sentences(w2v.LineSentence(str(path), **kwargs))  # restartable
    if not kwargs.get("limit") == 0:
        assert ours


@pytest.mark.parametrize("kwargs", [{}, {"max_sentence_length": 4, "limit": 4}])
@pytest.mark.parametrize("binary", [False, True])
def test_line_sentence_from_a_file_object(kwargs, binary):
    def source():
        return io.BytesIO(TEXT.encode("utf-8")) if binary else io.StringIO(TEXT)

    ours_src, theirs_src = source(), source()
    ours = w2v.LineSentence(ours_src, **kwargs)
    first = sentences(ours)
    assert first == sentences(gensim_w2v.LineSentence(theirs_src, **kwargs)) != []
    assert sentences(ours) == first  # read from the start again


def test_path_line_sentences(tmp_path):
    d = tmp_path / "dir"
    d.mkdir()
    (d / "b.txt").write_text("b1 b2\nb3\n\nb4 b5 b6 b7 b8\n")
    (d / "a.txt").write_text(TEXT)
    with gzip.open(d / "c.txt.gz", "wt") as f:
        f.write("c1\nc2 c3 c4\n")
    for kwargs in ({}, {"limit": 2}, {"max_sentence_length": 2, "limit": 3}):
        ours = sentences(w2v.PathLineSentences(str(d), **kwargs))
        assert ours == sentences(gensim_w2v.PathLineSentences(str(d), **kwargs))
        assert ours[0][0] == "the"  # name order
    one = d / "b.txt"
    assert sentences(w2v.PathLineSentences(str(one))) == sentences(gensim_w2v.PathLineSentences(str(one)))
    assert w2v.PathLineSentences(str(d)).input_files == gensim_w2v.PathLineSentences(str(d)).input_files
    for cls in (w2v.PathLineSentences, gensim_w2v.PathLineSentences):
        with pytest.raises(ValueError):  # w2v's is a FileNotFoundError too
            cls(str(tmp_path / "missing"))


def text8_like(n_tokens, seed=0):
    import random

    rng = random.Random(seed)
    words = ["anarchism", "originated", "as", "a", "term", "of", "abuse", "é", "x"]
    return " ".join(rng.choice(words) for _ in range(n_tokens))


@pytest.mark.parametrize("block", [None, 7, 64])
@pytest.mark.parametrize("max_sentence_length", [10000, 37, 1])
def test_text8_corpus(tmp_path, monkeypatch, block, max_sentence_length):
    path = tmp_path / "text8"
    path.write_text(" " + text8_like(5000), encoding="utf-8")  # text8 starts with a space
    if block is not None:  # block boundaries inside tokens and inside UTF-8 characters
        monkeypatch.setattr(corpus, "BLOCK_BYTES", block)
    ours = sentences(w2v.Text8Corpus(str(path), max_sentence_length))
    theirs = sentences(gensim_w2v.Text8Corpus(str(path), max_sentence_length))
    assert ours == theirs
    assert sum(map(len, ours)) == 5000


def test_text8_corpus_small_file_with_newlines(tmp_path):
    path = tmp_path / "small.txt"
    path.write_text(TEXT)
    assert sentences(w2v.Text8Corpus(str(path), 5)) == sentences(gensim_w2v.Text8Corpus(str(path), 5))


BROWN = ("The/at Fulton/np-tl County/nn-tl Grand/jj-tl Jury/nn-tl said/vbd Friday/nr an/at "
         "investigation/nn of/in ''/'' irregularities/nns ''/'' took/vbd place/nn ./.\n"
         "\n"
         ",/, ./.\n"
         "a/b/c 3/cd It/pps recommended/vbd that/cs Fulton/np legislators/nns act/vb\n")


def test_brown_corpus(tmp_path):
    d = tmp_path / "brown"
    d.mkdir()
    (d / "ca01").write_text(BROWN)
    (d / "sub").mkdir()
    ours = sentences(w2v.BrownCorpus(str(d)))
    assert ours == sentences(gensim_w2v.BrownCorpus(str(d)))
    assert ours[0][:3] == ["the/at", "fulton/np", "county/nn"] and len(ours) == 2
    (d / "ca02").write_text("Second/od file/nn\n")
    # gensim reads the files in the directory's order; w2v in name order
    assert sorted(map(tuple, sentences(w2v.BrownCorpus(str(d))))) == \
           sorted(map(tuple, sentences(gensim_w2v.BrownCorpus(str(d)))))
    assert sentences(w2v.BrownCorpus(str(d)))[-1] == ["second/od", "file/nn"]


def test_readers_feed_word2vec(text_file):
    model = w2v.Word2Vec(w2v.LineSentence(str(text_file), limit=3), vector_size=8, min_count=1,
                         epochs=1, seed=1, workers=1)
    limited = {w for s in gensim_w2v.LineSentence(str(text_file), limit=3) for w in s}
    assert set(model.wv.index_to_key) == limited  # the limit is honoured when counting
    with open(text_file, "rb") as f:
        model = w2v.Word2Vec(w2v.LineSentence(f), vector_size=8, min_count=1, epochs=1, workers=1)
    assert "héllo" in model.wv.key_to_index
