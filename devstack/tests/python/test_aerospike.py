"""The Aerospike stand-in checked with the official Python client (C client inside).

Needs the stand-in running and its address in the environment variable AEROSPIKE
(host:port), e.g. via test/standin-check. Each test uses its own set.
"""

import os
import uuid

import aerospike
import pytest
from aerospike import exception as ex

NS = "test"


def _host_port():
    addr = os.environ.get("AEROSPIKE")
    if not addr:
        pytest.skip("AEROSPIKE (host:port of the stand-in) is not set")
    host, _, port = addr.rpartition(":")
    return host, int(port)


@pytest.fixture(scope="module")
def client():
    c = aerospike.client({"hosts": [_host_port()], "policies": {"total_timeout": 5000}})
    c.connect()
    yield c
    c.close()


@pytest.fixture()
def set_name():
    return "py-" + uuid.uuid4().hex[:12]


def test_put_get_all_types(client, set_name):
    key = (NS, set_name, "k1")
    bins = {
        "i": 42,
        "f": 2.5,
        "s": "hello",
        "b": bytearray(b"\x01\x02"),
        "t": True,
        "l": [1, "two", 3.0],
        "m": {"a": 1, "b": [2]},
    }
    client.put(key, bins, policy={"key": aerospike.POLICY_KEY_SEND})
    (_, meta, got) = client.get(key)
    assert got == bins
    assert meta["gen"] == 1


def test_missing_record_raises_not_found(client, set_name):
    with pytest.raises(ex.RecordNotFound):
        client.get((NS, set_name, "nope"))


def test_generation_and_create_only(client, set_name):
    key = (NS, set_name, 1)
    client.put(key, {"a": 1}, policy={"exists": aerospike.POLICY_EXISTS_CREATE})
    with pytest.raises(ex.RecordExistsError):
        client.put(key, {"a": 2}, policy={"exists": aerospike.POLICY_EXISTS_CREATE})
    with pytest.raises(ex.RecordGenerationError):
        client.put(key, {"a": 3}, meta={"gen": 5}, policy={"gen": aerospike.POLICY_GEN_EQ})
    client.put(key, {"a": 4}, meta={"gen": 1}, policy={"gen": aerospike.POLICY_GEN_EQ})
    (_, meta, got) = client.get(key)
    assert got == {"a": 4} and meta["gen"] == 2


def test_sixteen_byte_bin_name_rejected(client, set_name):
    # The Python client checks bin names before sending (BinNameError, code 21, the
    # server's BIN_NAME_TOO_LONG); the stand-in's own check is covered by the Rust tests.
    key = (NS, set_name, "long")
    with pytest.raises(ex.BinNameError):
        client.put(key, {"abcdefghijklmnop": 1})
    client.put(key, {"abcdefghijklmno": 1})
    assert client.get(key)[2] == {"abcdefghijklmno": 1}


def test_batch_write_rows_have_their_own_results(client, set_name):
    from aerospike_helpers.batch import records as br
    from aerospike_helpers.operations import operations as op

    client.put((NS, set_name, 1), {"a": 0})
    writes = br.BatchRecords(
        [
            br.Write(
                (NS, set_name, 1),
                [op.write("a", 1)],
                policy={"exists": aerospike.POLICY_EXISTS_CREATE},
            ),
            br.Write((NS, set_name, 2), [op.write("a", 2)]),
            br.Write((NS, set_name, 3), [op.write("a", 3)]),
        ]
    )
    client.batch_write(writes)
    assert [r.result for r in writes.batch_records] == [5, 0, 0]

    keys = [(NS, set_name, i) for i in (1, 2, 3, 4)]
    res = client.batch_read(keys)
    assert [r.result for r in res.batch_records] == [0, 0, 0, 2]
    assert res.batch_records[0].record[2] == {"a": 0}
    assert res.batch_records[2].record[2] == {"a": 3}


def test_scan_of_a_set(client, set_name):
    for i in range(20):
        client.put((NS, set_name, i), {"i": i}, policy={"key": aerospike.POLICY_KEY_SEND})
    client.put((NS, set_name + "x", 1), {"i": 1})
    seen = []
    query = client.query(NS, set_name)
    for key, _meta, bins in query.results():
        assert key[2] == bins["i"]
        seen.append(bins["i"])
    assert sorted(seen) == list(range(20))


# append on strings is deprecated for servers >= 8.2; the stand-in is a 7.x server.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_operate_and_delete(client, set_name):
    from aerospike_helpers.operations import operations as op

    key = (NS, set_name, "ops")
    client.put(key, {"n": 1, "s": "x"})
    _, _, bins = client.operate(key, [op.increment("n", 4), op.append("s", "y"), op.read("n"), op.read("s")])
    assert bins == {"n": 5, "s": "xy"}
    client.remove(key)
    (_, meta) = client.exists(key)
    assert meta is None


def test_ttl_and_info(client, set_name):
    key = (NS, set_name, "ttl")
    client.put(key, {"a": 1}, policy={"ttl": 100})
    (_, meta, _) = client.get(key)
    assert 90 <= meta["ttl"] <= 100
    answers = client.info_all("namespaces")
    assert any(NS in (resp or "") for (_err, resp) in answers.values())


def _version_guard(v):
    """x-msrv's ordering guard: write only if the stored version is absent or lower."""
    from aerospike_helpers import expressions as exp

    return exp.Or(exp.Not(exp.BinExists("version")), exp.LT(exp.IntBin("version"), v)).compile()


def test_filter_expressions_guard_writes_and_reads(client, set_name):
    from aerospike_helpers import expressions as exp
    from aerospike_helpers.batch import records as br
    from aerospike_helpers.operations import operations as op

    key = (NS, set_name, "g")
    # A missing record is created: the server never evaluates the filter then.
    client.put(key, {"payload": "old"}, policy={"expressions": _version_guard(1)})
    # No version bin yet: written.
    client.put(key, {"version": 3, "payload": "v3"}, policy={"expressions": _version_guard(3)})
    with pytest.raises(ex.FilteredOut):
        client.put(key, {"version": 3, "payload": "again"}, policy={"expressions": _version_guard(3)})
    (_, meta, bins) = client.get(key)
    assert bins == {"version": 3, "payload": "v3"} and meta["gen"] == 2

    # Batch rows, each with its own guard: the stale row alone is filtered out (27).
    writes = br.BatchRecords(
        [
            br.Write(key, [op.write("version", 2)], policy={"expressions": _version_guard(2)}),
            br.Write((NS, set_name, "h"), [op.write("version", 1)], policy={"expressions": _version_guard(1)}),
            br.Write((NS, set_name, "i"), [op.write("version", 1)]),
        ]
    )
    client.batch_write(writes)
    assert [r.result for r in writes.batch_records] == [27, 0, 0]
    assert client.get(key)[2]["version"] == 3
    assert client.get((NS, set_name, "h"))[2] == {"version": 1}

    # Reads: a false filter, and an ill-typed one (the server's parser refuses it, 4).
    with pytest.raises(ex.FilteredOut):
        client.get(key, policy={"expressions": exp.GT(exp.IntBin("version"), 3).compile()})
    with pytest.raises(ex.InvalidRequest):
        client.get(key, policy={"expressions": exp.Eq(exp.IntBin("version"), "3").compile()})
    (_, meta, _) = client.get(key, policy={"expressions": exp.Eq(exp.IntBin("version"), 3).compile()})
    assert meta["gen"] == 2
