"""A Python client generated from openapi.yaml by openapi-python-client, at test time
(into a temporary directory, so it can't drift from the spec), driving a live gateway:
create, read, patch, operate, batch, scan and delete, with the store checked by redis-cli."""

import importlib
import pathlib
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.fixture(scope="module")
def sg(tmp_path_factory):
    """The generated package, imported as `storegate_client`."""
    out = tmp_path_factory.mktemp("generated") / "storegate_client"
    generator = pathlib.Path(sys.executable).with_name("openapi-python-client")
    done = subprocess.run([str(generator), "generate", "--path", str(ROOT / "openapi.yaml"), "--meta", "none",
                           "--output-path", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(out.parent))
    try:
        package = importlib.import_module("storegate_client")
        for module in ["api.records.put_record", "api.records.get_record", "api.records.create_record",
                       "api.records.patch_record", "api.records.delete_record", "api.records.operate_record",
                       "api.records.batch", "api.records.scan_set", "api.records.record_exists",
                       "api.operations.get_readiness", "models"]:
            setattr(package, module.replace(".", "_"), importlib.import_module("storegate_client." + module))
        yield package
    finally:
        sys.path.remove(str(out.parent))


def stored_bins(live, key):
    """A record's bins as the store holds them: `_b`, `<name length>:<name><value length>:<value>` per bin."""
    blob, bins, i = live.redis("HGET", key, "_b").encode(), {}, 0
    while i < len(blob):
        colon = blob.index(b":", i)
        end = colon + 1 + int(blob[i:colon])
        name = blob[colon + 1:end].decode()
        colon = blob.index(b":", end)
        i = colon + 1 + int(blob[end:colon])
        bins[name] = blob[colon + 1:i].decode()
    return bins


@pytest.fixture
def client(sg, live):
    with sg.Client(base_url=live.base_url, timeout=sg.client.httpx.Timeout(30.0)) as client:
        yield client


def test_readiness(sg, client):
    response = sg.api_operations_get_readiness.sync_detailed(client=client)
    assert response.status_code == 200
    assert response.parsed.status == "ready"


def test_record_lifecycle(sg, client, live):
    m = sg.models
    key = dict(ns="test", set_="users", key="alice")

    created = sg.api_records_put_record.sync_detailed(
        **key, client=client, body=m.RecordWrite(bins=m.RecordWriteBins.from_dict({"name": "Alice", "age": 30})))
    assert created.status_code == 201
    assert created.headers["ETag"] == '"1"'
    assert created.parsed.generation == 1
    assert stored_bins(live, "sg:{test/users/alice}").get("name") == '"Alice"'

    # One redis-server, no replica: commit=replicas is refused, nothing written.
    refused = sg.api_records_put_record.sync_detailed(
        ns="test", set_="users", key="erin", client=client, commit=m.PutRecordCommit.REPLICAS,
        body=m.RecordWrite(bins=m.RecordWriteBins.from_dict({"name": "Erin"})))
    assert refused.status_code == 409
    assert refused.parsed.error.code == "no_replicas"
    assert live.redis("EXISTS", "sg:{test/users/erin}") == "0"

    read = sg.api_records_get_record.sync_detailed(**key, client=client, bins="age")
    assert read.status_code == 200
    assert read.parsed.bins.to_dict() == {"age": 30}
    assert sg.api_records_record_exists.sync_detailed(**key, client=client).status_code == 200

    conflict = sg.api_records_create_record.sync_detailed(
        **key, client=client, body=m.RecordWrite(bins=m.RecordWriteBins.from_dict({"name": "Other"})))
    assert conflict.status_code == 409
    assert conflict.parsed.error.code == "record_exists"

    patched = sg.api_records_patch_record.sync_detailed(
        **key, client=client, if_match='"1"', body=m.RecordPatch(bins=m.RecordPatchBins.from_dict({"age": 31, "name": None})))
    assert patched.status_code == 200
    assert patched.parsed.generation == 2
    assert patched.parsed.bins.to_dict() == {"age": 31}
    assert "name" not in stored_bins(live, "sg:{test/users/alice}")

    stale = sg.api_records_patch_record.sync_detailed(
        **key, client=client, if_match="1", body=m.RecordPatch(bins=m.RecordPatchBins.from_dict({"age": 99})))
    assert stale.status_code == 412
    assert stale.parsed.error.code == "generation_mismatch"
    assert stored_bins(live, "sg:{test/users/alice}").get("age") == "31"

    operated = sg.api_records_operate_record.sync_detailed(**key, client=client, body=m.OperateRequest(operations=[
        m.OperationIncr(op=m.OperationIncrOp.INCR, bin_="age", value=1),
        m.OperationValue(op=m.OperationValueOp.LIST_APPEND, bin_="log", value="birthday"),
        m.OperationGet(op=m.OperationGetOp.GET),
    ]))
    assert operated.status_code == 200
    assert operated.parsed.generation == 3
    assert operated.parsed.results[0] == 32
    assert operated.parsed.results[2] == {"age": 32, "log": ["birthday"]}

    deleted = sg.api_records_delete_record.sync_detailed(**key, client=client, if_match='"3"')
    assert deleted.status_code == 204
    assert live.redis("EXISTS", "sg:{test/users/alice}") == "0"
    gone = sg.api_records_get_record.sync_detailed(**key, client=client)
    assert gone.status_code == 404
    assert gone.parsed.error.code == "record_not_found"


def test_batch_and_scan(sg, client, live):
    m = sg.models

    def write(op, key, bins):
        return m.BatchWrite(op=op, namespace="test", set_="pets", key=key, bins=m.BatchWriteBins.from_dict(bins))

    def read(op, key):
        return m.BatchRead(op=op, namespace="test", set_="pets", key=key)

    first = sg.api_records_batch.sync_detailed(client=client, body=m.BatchRequest(operations=[
        write(m.BatchWriteOp.PUT, "rex", {"kind": "dog"}),
        write(m.BatchWriteOp.PUT, "tom", {"kind": "cat"}),
        write(m.BatchWriteOp.PATCH, "rex", {"age": 3}),
        read(m.BatchReadOp.GET, "nobody"),
    ]))
    assert first.status_code == 200
    assert [r.index for r in first.parsed.results] == [0, 1, 2, 3]
    assert [r.status for r in first.parsed.results] == [200, 200, 200, 404]
    assert first.parsed.results[3].error.code == "record_not_found"
    assert stored_bins(live, "sg:{test/pets/rex}").get("age") == "3"

    second = sg.api_records_batch.sync_detailed(client=client, body=m.BatchRequest(operations=[
        read(m.BatchReadOp.GET, "rex"),
        m.BatchDelete(op=m.BatchDeleteOp.DELETE, namespace="test", set_="pets", key="tom", commit=m.CommitLevel.MASTER),
    ]))
    assert [r.status for r in second.parsed.results] == [200, 204]
    assert second.parsed.results[0].record.bins.to_dict() == {"kind": "dog", "age": 3}
    assert live.redis("EXISTS", "sg:{test/pets/tom}") == "0"

    keys, cursor = [], sg.types.UNSET
    while True:
        page = sg.api_records_scan_set.sync_detailed(ns="test", set_="pets", client=client, cursor=cursor, count=10)
        assert page.status_code == 200
        keys += [record.key for record in page.parsed.records]
        if page.parsed.cursor is None:
            break
        cursor = page.parsed.cursor
    assert keys == ["rex"]
