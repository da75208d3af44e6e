"""Every file reader under fuzzing (hypothesis): damaged copies of small good files (random
truncation, byte flips, absurd headers, wrong dimensions, duplicate words) either load into a
consistent object or raise the documented error (ValueError and its subclasses), never
MemoryError, another exception, or a hang. tools/fuzz_loaders.py runs the same properties with a
large budget, each reader in a child process (counting crashes and hangs)."""
import logging
import sys
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import fuzz_loaders as fuzz  # noqa: E402

EXAMPLES = 50


@pytest.fixture(scope="module")
def base_files(tmp_path_factory):
    return fuzz.make_base_files(tmp_path_factory.mktemp("fuzz-base"))


@pytest.fixture(autouse=True)
def _quiet():
    logging.disable(logging.WARNING)  # "duplicate words, keeping the first" on every such case
    yield
    logging.disable(logging.NOTSET)


@pytest.mark.parametrize("reader", list(fuzz.LOADERS))
def test_the_good_file_loads(base_files, reader):
    fuzz.LOADERS[reader](base_files[reader])


@pytest.mark.parametrize("reader", list(fuzz.LOADERS))
def test_damaged_files_load_or_raise_the_documented_error(base_files, reader, tmp_path):
    good = fuzz.read_base(base_files[reader])
    target = tmp_path / ("case" + "".join(base_files[reader].suffixes))
    counts = fuzz.Counts()

    @settings(max_examples=EXAMPLES, deadline=2000, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(ops=fuzz.damage(reader))
    def prop(ops):
        unexpected = fuzz.run_case(reader, target, fuzz.apply_damage(reader, good, ops), counts)
        if unexpected is not None:
            raise unexpected

    prop()
    assert counts["clean_errors"] > 0  # the damage reached the reader


@pytest.mark.parametrize("reader", ["text", "binary", "vocab"])
@pytest.mark.parametrize("v, d", [(99999999999, 100), (3, 99999999999), (-3, 100), (3, -100),
                                  (2 ** 63 - 1, 2 ** 63 - 1)])
def test_absurd_headers(base_files, reader, v, d, tmp_path):
    data = fuzz.apply_damage(reader, base_files[reader].read_bytes(), [("header", (v, d))])
    counts = fuzz.Counts()
    unexpected = fuzz.run_case(reader, tmp_path / ("case" + base_files[reader].suffix), data, counts)
    assert unexpected is None, f"{type(unexpected).__name__}: {unexpected}"


@pytest.mark.parametrize("reader", ["native", "model", "checkpoint", "phrases"])
@pytest.mark.parametrize("shape", [(10 ** 12, 3), (3, 2 ** 62), (2 ** 40,), (10 ** 6, 10 ** 6), (0, 3), (5,)])
def test_absurd_npy_shapes(base_files, reader, shape, tmp_path):
    good = base_files[reader].read_bytes()
    for which in range(5):
        data = fuzz._replace_npy_shape(good, which, shape)
        counts = fuzz.Counts()
        unexpected = fuzz.run_case(reader, tmp_path / "case.npz", data, counts)
        assert unexpected is None, f"member {which}: {type(unexpected).__name__}: {unexpected}"


@pytest.mark.parametrize("reader", [r for r in fuzz.LOADERS if r != "store"])
def test_missing_file_is_file_not_found(reader, tmp_path):
    with pytest.raises(FileNotFoundError):
        fuzz.LOADERS[reader](tmp_path / "gone.npz")


@pytest.mark.parametrize("reader", ["model", "checkpoint"])
def test_a_zip_version_from_the_future_is_a_clean_error(base_files, reader, tmp_path):
    data = bytearray(base_files[reader].read_bytes())
    at = data.find(b"PK\x01\x02")  # the first central directory entry
    data[at + 6: at + 8] = (173).to_bytes(2, "little")  # "version needed to extract": 17.3
    counts = fuzz.Counts()
    unexpected = fuzz.run_case(reader, tmp_path / "case.npz", bytes(data), counts)
    if unexpected is not None:
        raise unexpected


def _set_encrypted_flag(data: bytes) -> bytes:
    """The zip with bit 0 of the flags ("encrypted") set in every entry, local and central: zipfile
    then raises RuntimeError ("password required for extraction")."""
    data = bytearray(data)
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(sig)
        while at >= 0:
            data[at + off] |= 1
            at = data.find(sig, at + 4)
    return bytes(data)


@pytest.mark.parametrize("reader", ["native", "model", "checkpoint", "phrases", "store"])
def test_a_zip_entry_flagged_encrypted_is_a_clean_error(base_files, reader, tmp_path):
    """Found by the long campaign (checkpoint): one flipped flag bit made zipfile's RuntimeError
    escape the model loader."""
    good = fuzz.read_base(base_files[reader])
    if reader == "store":
        data = dict(good, **{"index.npz": _set_encrypted_flag(good["index.npz"])})
    else:
        data = _set_encrypted_flag(good)
    counts = fuzz.Counts()
    unexpected = fuzz.run_case(reader, tmp_path / ("case" + "".join(base_files[reader].suffixes)), data, counts)
    assert unexpected is None, f"{type(unexpected).__name__}: {unexpected}"
    assert counts["clean_errors"] == 1


@pytest.mark.parametrize("value", [[], "x", None, 1.5, -1, 0])
def test_a_store_header_with_a_block_size_of_another_type_is_a_clean_error(base_files, value, tmp_path):
    """Found by the long campaign: block_words was read from the header outside the checks, so a
    list there raised TypeError."""
    import json
    good = fuzz.read_base(base_files["store"])
    header = json.loads(good["header.json"])
    header["block_words"] = value
    data = dict(good, **{"header.json": json.dumps(header).encode()})
    counts = fuzz.Counts()
    unexpected = fuzz.run_case("store", tmp_path / "case", data, counts)
    assert unexpected is None, f"{type(unexpected).__name__}: {unexpected}"
