"""`w2v convert --to projector` and formats.save_projector: TensorFlow's Embedding Projector files,
against what gensim's word2vec2tensor writes."""
import json
import os
import re

import numpy as np
import pytest

from w2v import KeyedVectors, formats
from w2v.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def kv():
    rng = np.random.default_rng(3)
    words = ["the", "naïve", "café", "x"] + [f"w{i}" for i in range(46)]
    vectors = rng.standard_normal((len(words), 7)).astype(np.float32) * np.float32(10.0) ** rng.integers(-3, 3, (len(words), 1))
    return KeyedVectors(7, words, vectors)


def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f]


def test_files_match_gensims_word2vec2tensor(kv, tmp_path, capsys):
    gensim_script = pytest.importorskip("gensim.scripts.word2vec2tensor")
    source = tmp_path / "vectors.bin"
    kv.save_word2vec_format(source, binary=True)
    gensim_script.word2vec2tensor(str(source), str(tmp_path / "g"), binary=True)
    code, _, err = run(capsys, "convert", source, "--to", "projector", tmp_path / "proj")
    assert code == 0 and "projector.tensorflow.org" in err
    ours, theirs = tmp_path / "proj", tmp_path
    assert (ours / "metadata.tsv").read_bytes() == (theirs / "g_metadata.tsv").read_bytes()
    our_rows = np.array(read_tsv(ours / "vectors.tsv"), dtype=np.float32)
    their_rows = np.array(read_tsv(theirs / "g_tensor.tsv"), dtype=np.float32)
    np.testing.assert_array_equal(our_rows, their_rows)


def test_each_metadata_row_names_its_vector_row(kv, tmp_path):
    formats.save_projector(tmp_path, kv.index_to_key, kv.vectors)
    words = [row[0] for row in read_tsv(tmp_path / "metadata.tsv")]
    rows = np.array(read_tsv(tmp_path / "vectors.tsv"), dtype=np.float32)
    assert words == kv.index_to_key  # one column: no header row
    assert rows.shape == kv.vectors.shape
    for word, row in zip(words, rows):
        np.testing.assert_array_equal(row, kv[word])  # float32 exactly (9 digits)


def test_configs_name_the_files_and_shape(kv, tmp_path):
    formats.save_projector(tmp_path, kv.index_to_key, kv.vectors, tensor_name='my "vectors"')
    config = json.loads((tmp_path / "projector_config.json").read_text())
    (embedding,) = config["embeddings"]
    assert embedding == {"tensorName": 'my "vectors"', "tensorShape": [len(kv), 7],
                         "tensorPath": "vectors.tsv", "metadataPath": "metadata.tsv"}
    pbtxt = (tmp_path / "projector_config.pbtxt").read_text()
    fields = re.findall(r'^\s*(\w+): (.+)$', pbtxt, re.M)
    assert ("tensor_name", '"my \\"vectors\\""') in fields
    assert [v for k, v in fields if k == "tensor_shape"] == [str(len(kv)), "7"]
    assert ("tensor_path", '"vectors.tsv"') in fields and ("metadata_path", '"metadata.tsv"') in fields
    assert pbtxt.startswith("embeddings {") and pbtxt.rstrip().endswith("}")


def test_limit_and_an_existing_directory(kv, tmp_path, capsys):
    source = tmp_path / "v.txt"
    kv.save_word2vec_format(source)
    out = tmp_path / "proj"
    out.mkdir()
    (out / "vectors.tsv").write_text("old\n")
    code, _, _ = run(capsys, "convert", source, "--to", "projector", out, "--limit", "5")
    assert code == 0
    assert [r[0] for r in read_tsv(out / "metadata.tsv")] == kv.index_to_key[:5]
    assert len(read_tsv(out / "vectors.tsv")) == 5
    assert sorted(os.listdir(out)) == sorted(formats.PROJECTOR_FILES)  # no temporaries left


def test_refuses_to_write_over_the_input(kv, tmp_path, capsys):
    out = tmp_path / "proj"
    out.mkdir()
    source = out / "metadata.tsv"  # word2vec text under a projector file's name
    kv.save_word2vec_format(source)
    before = source.read_bytes()
    code, _, err = run(capsys, "convert", source, "--to", "projector", out)
    assert code == 2 and "same file" in err and source.read_bytes() == before
    assert sorted(os.listdir(out)) == ["metadata.tsv"]
    code, _, err = run(capsys, "convert", source, "--to", "projector", source)
    assert code == 2 and "is a file" in err and source.read_bytes() == before


def test_missing_parent_and_bad_words(kv, tmp_path, capsys):
    source = tmp_path / "v.bin"
    kv.save_word2vec_format(source, binary=True)
    code, _, err = run(capsys, "convert", source, "--to", "projector", tmp_path / "no" / "such" / "dir")
    assert code == 2 and "does not exist" in err and not (tmp_path / "no").exists()
    with pytest.raises(ValueError, match="tab"):
        formats.save_projector(tmp_path / "p", ["a", "b\tc"], np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="shape"):
        formats.save_projector(tmp_path / "p", ["a"], np.zeros((2, 3), np.float32))
