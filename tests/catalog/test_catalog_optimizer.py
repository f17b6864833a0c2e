"""[optimizer]: inline or a JSON file; into the snapshot and the manifest; bad input at file:line:col."""

from __future__ import annotations

import json

import pytest

from compiler.codes import exit_code_for

from .helpers import BASE, compile_ok, diagnose, findings

HASH = "9f2c1e0b7a4d5c6e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9012a3b4c5d6e7"
INLINE = f"""
[optimizer]
name = "MIPROv2"
version = "2.6.1"
seed = 7

[[optimizer.datasets]]
name = "train"
split = "train"
sha256 = "{HASH}"

[optimizer.scorecard]
exact_match = 0.83
"""
RUN = {"name": "MIPROv2", "version": "2.6.1",
       "datasets": [{"name": "train", "sha256": HASH, "records": 10}], "scorecard": {"exact_match": 0.83}}


def run_file(data) -> dict[str, str]:
    return {"optimizer/run.json": json.dumps(data, indent=2) if not isinstance(data, str) else data}


FILE = '\n[optimizer]\nfile = "optimizer/run.json"\n'


def test_inline_metadata_goes_to_snapshot_and_manifest(tmp_path):
    result = compile_ok(tmp_path, BASE + INLINE)
    block = result.snapshot["optimizer"]
    assert block["name"] == "MIPROv2" and block["seed"] == 7 and block["scorecard"] == {"exact_match": 0.83}
    assert block["datasets"] == [{"name": "train", "sha256": HASH, "split": "train", "records": None, "uri": None}]
    manifest = result.compilation["manifest"]
    assert manifest["optimizer"] == block
    assert manifest["training_context"]["dataset_sha256"] == {"train": HASH}


def test_file_metadata_is_a_source(tmp_path):
    result = compile_ok(tmp_path, BASE + FILE, run_file(RUN))
    assert result.snapshot["optimizer"]["datasets"][0]["records"] == 10
    assert "optimizer/run.json" in result.snapshot["source_files"]
    assert "optimizer/run.json" in [s["path"] for s in result.compilation["manifest"]["source_files"]]


def test_a_policy_without_optimizer_has_no_block(tmp_path):
    assert "optimizer" not in compile_ok(tmp_path, BASE).snapshot


@pytest.mark.parametrize("digest, why", [("abc123", "(it has 6)"), (HASH.upper(), ""), (HASH[:-1] + "g", "")])
def test_bad_dataset_hash_inline_points_at_the_value(tmp_path, digest, why):
    found = diagnose(tmp_path, BASE + INLINE.replace(HASH, digest))
    assert findings(found) == [("POLC533", "model_policy.toml", 19, 10)]
    assert why in found[0].message and exit_code_for(found) == 1


def test_bad_dataset_hash_in_the_json_file_points_into_the_file(tmp_path):
    data = {**RUN, "datasets": [RUN["datasets"][0], {"name": "dev", "sha256": "not-a-hash"}]}
    found = diagnose(tmp_path, BASE + FILE, run_file(data))
    assert findings(found) == [("POLC533", "optimizer/run.json", 12, 17)]


def test_duplicate_dataset(tmp_path):
    data = {**RUN, "datasets": [RUN["datasets"][0], RUN["datasets"][0]]}
    assert [c for c, *_ in findings(diagnose(tmp_path, BASE + FILE, run_file(data)))] == ["POLC534"]


@pytest.mark.parametrize("text, expected", [
    ('{"name": "x",\n  "seed": 1,\n}', ("POLC531", 3, 1)),                 # trailing comma
    ('{"name": "x", "scorecard": {"em": NaN}}', ("POLC531", 1, 1)),      # NaN is not JSON
    ("", ("POLC007", 1, 1)),                                             # empty
])
def test_invalid_json(tmp_path, text, expected):
    found = diagnose(tmp_path, BASE + FILE, run_file(text))
    assert [(d.code, d.span.line, d.span.column) for d in found] == [expected]
    assert exit_code_for(found) == 3


@pytest.mark.parametrize("data, expected", [
    ({"version": "1"}, [("POLC532", 1, 1)]),                                          # no name
    ({**RUN, "scorecard": {"exact_match": "high"}}, [("POLC532", 12, 20)]),          # not a number
    ({**RUN, "datasets": [{"name": "t", "sha": HASH}]}, [("POLC532", 7, 7)]),        # `sha` for `sha256`: one error
    ({**RUN, "seed": 2**60}, [("POLC532", 14, 11)]),                                 # beyond 2^53
])
def test_json_schema_errors_point_into_the_file(tmp_path, data, expected):
    found = diagnose(tmp_path, BASE + FILE, run_file(data))
    assert [(d.code, d.span.line, d.span.column) for d in found] == expected, [d.message for d in found]


def test_name_and_file_are_exclusive(tmp_path):
    found = diagnose(tmp_path, BASE + FILE + 'name = "x"\n', run_file(RUN))
    assert [c for c, *_ in findings(found)] == ["POLC530"]
    found = diagnose(tmp_path, BASE + '\n[optimizer]\nversion = "1"\n')
    assert [c for c, *_ in findings(found)] == ["POLC530"]


def test_file_outside_the_project(tmp_path):
    found = diagnose(tmp_path, BASE + FILE.replace("optimizer/run.json", "../run.json"))
    assert [(d.code, d.span.line, d.span.column) for d in found] == [("POLC005", 12, 8)]


def test_bad_inline_types_are_schema_errors(tmp_path):
    found = diagnose(tmp_path, BASE + INLINE.replace("seed = 7", 'seed = "seven"'))
    assert [(d.code, d.span.line, d.span.column) for d in found] == [("POLC101", 14, 8)]


def test_the_inline_table_and_the_file_share_one_schema():
    from compiler.frontend.schema_check import load_schema

    inline = load_schema("model_policy.schema.json")["properties"]["optimizer"]["properties"]
    run_file = load_schema("optimizer_run.schema.json")["properties"]
    assert {k: v for k, v in inline.items() if k != "file"} == run_file
