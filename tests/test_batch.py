"""The batch's plan before any model loads (animatecli.batch): the pairs of a folder or a
pairs file, their output names, the shard split, the report and the exit code. The runs
themselves are in tests/cli/test_batch.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from animatecli.batch import (
    Pair,
    PairResult,
    check_output_folder,
    check_report_path,
    exit_code,
    folder_pairs,
    in_shard,
    parse_shard,
    read_pairs_file,
    write_report,
)
from animatecli.errors import ExitCode, InputError


def touch(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")


def test_a_folder_gives_every_image_with_every_video_in_name_order(tmp_path: Path) -> None:
    touch(tmp_path, "b.png", "a.JPG", "talk.mp4", "wave.gif", "notes.txt", ".hidden.png")
    (tmp_path / "sub.png").mkdir()  # folders are not inputs, whatever their name
    out = tmp_path / "animated"
    pairs = folder_pairs(tmp_path, out)
    assert [(p.source.name, p.driving.name, p.output) for p in pairs] == [
        ("a.JPG", "talk.mp4", out / "a__talk.mp4"),
        ("a.JPG", "wave.gif", out / "a__wave.mp4"),
        ("b.png", "talk.mp4", out / "b__talk.mp4"),
        ("b.png", "wave.gif", out / "b__wave.mp4"),
    ]


def test_files_sharing_a_stem_keep_their_extension_in_the_output_name(tmp_path: Path) -> None:
    touch(tmp_path, "face.png", "face.jpg", "talk.mp4", "talk.mov")
    outputs = sorted(p.output.name for p in folder_pairs(tmp_path, tmp_path / "out"))
    assert outputs == [
        "face.jpg__talk.mov.mp4",
        "face.jpg__talk.mp4.mp4",
        "face.png__talk.mov.mp4",
        "face.png__talk.mp4.mp4",
    ]


def test_a_folder_needs_an_image_and_a_video_and_another_output_folder(tmp_path: Path) -> None:
    touch(tmp_path, "a.png", "b.png")
    with pytest.raises(InputError, match=r"needs at least one image and one video \(found 2"):
        folder_pairs(tmp_path, tmp_path / "out")
    with pytest.raises(InputError, match="not a folder"):
        folder_pairs(tmp_path / "a.png", tmp_path / "out")
    with pytest.raises(InputError, match="is the input folder; outputs would become inputs"):
        check_output_folder(tmp_path, tmp_path / "animated" / "..")


def test_a_csv_pairs_file_with_header_optional_outputs_and_relative_paths(tmp_path: Path) -> None:
    listing = tmp_path / "pairs.csv"
    listing.write_text(
        "source,driving,output\nme.png,clips/talk.mp4,\n/abs/you.png,b.mov,x.mp4\n\n"
    )
    out = tmp_path / "out"
    assert read_pairs_file(listing, tmp_path, out) == [
        Pair(tmp_path / "me.png", tmp_path / "clips/talk.mp4", out / "me__talk.mp4"),
        Pair(Path("/abs/you.png"), tmp_path / "b.mov", out / "x.mp4"),
    ]


def test_a_json_pairs_file_takes_objects_and_lists(tmp_path: Path) -> None:
    listing = tmp_path / "pairs.json"
    rows = [{"source": "a.png", "driving": "v.mp4"}, ["b.png", "v.mp4", "b.mov"]]
    listing.write_text(json.dumps(rows))
    pairs = read_pairs_file(listing, tmp_path, tmp_path)
    assert [p.output.name for p in pairs] == ["a__v.mp4", "b.mov"]


def test_a_pairs_file_saved_by_a_spreadsheet_in_windows_1252(tmp_path: Path) -> None:
    listing = tmp_path / "pairs.csv"
    listing.write_bytes("café.png,señor.mp4\n".encode("cp1252"))
    (pair,) = read_pairs_file(listing, tmp_path, tmp_path)
    assert pair.output.name == "café__señor.mp4"
    listing.write_bytes(b"\xef\xbb\xbf" + "source,driving\nü.png,v.mp4\n".encode())  # BOM
    (pair,) = read_pairs_file(listing, tmp_path, tmp_path)
    assert pair.source.name == "ü.png"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("p.csv", "", "lists no pairs"),
        ("p.csv", "source,driving\n", "lists no pairs"),
        ("p.csv", "a.png\n", "pair 1 needs a source and a driving path"),
        ("p.csv", "a.png,v.mp4\n,v.mp4\n", "pair 2 needs a source and a driving path"),
        ("p.csv", "a.png,v.mp4\na.png,v.mov\n", "pairs 1 and 2 both write a__v.mp4"),
        ("p.json", "{", "is not valid JSON"),
        ("p.json", '{"source": "a.png"}', "expected a JSON list of pairs"),
        ("p.json", '["a.png"]', "each pair must be an object or a list"),
    ],
)
def test_pairs_files_refused(tmp_path: Path, name: str, text: str, message: str) -> None:
    listing = tmp_path / name
    listing.write_text(text)
    with pytest.raises(InputError, match=message) as raised:
        read_pairs_file(listing, tmp_path, tmp_path)
    assert raised.value.exit_code == ExitCode.USAGE


def test_a_pairs_file_that_is_a_folder_or_missing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder"):
        read_pairs_file(tmp_path, tmp_path, tmp_path)
    with pytest.raises(InputError, match="cannot read pairs file"):
        read_pairs_file(tmp_path / "missing.csv", tmp_path, tmp_path)


def test_shard_specs() -> None:
    assert parse_shard(None) is None
    assert parse_shard("0/1") == (0, 1)
    assert parse_shard("3/4") == (3, 4)
    for spec in ("half", "1/2/3", "1-2", ""):
        with pytest.raises(InputError, match="--shard must look like I/N"):
            parse_shard(spec)
    for spec in ("2/2", "-1/2", "0/0"):
        with pytest.raises(InputError, match=rf"--shard {spec}: need 0 <= I < N"):
            parse_shard(spec)


def test_shards_split_the_pairs_by_output_name_whatever_their_order(tmp_path: Path) -> None:
    pairs = [
        Pair(tmp_path / f"s{i}.png", tmp_path / "v.mp4", tmp_path / f"o{i}.mp4") for i in range(40)
    ]
    shards = [[p for p in pairs if in_shard(p, (index, 3))] for index in range(3)]
    assert sorted(map(len, shards)) == sorted(map(len, shards)) and sum(map(len, shards)) == 40
    assert all(shards)  # 40 names spread over every shard
    assert {p.output for shard in shards for p in shard} == {p.output for p in pairs}
    # The same output in another folder, from other inputs: the same shard.
    moved = Pair(Path("x.png"), Path("y.mp4"), Path("elsewhere") / pairs[0].output.name)
    assert [in_shard(moved, (i, 3)) for i in range(3)] == [pairs[0] in s for s in shards]
    assert all(in_shard(p, None) for p in pairs)


def test_the_exit_code_is_partial_when_any_pair_failed() -> None:
    ok = PairResult("a.png", "v.mp4", "a__v.mp4", "ok", 1.5, frames=25)
    skipped = PairResult("b.png", "v.mp4", "b__v.mp4", "skipped")
    failed = PairResult("c.png", "v.mp4", "c__v.mp4", "failed", error="no face")
    assert exit_code([]) == exit_code([ok, skipped]) == ExitCode.OK
    assert exit_code([ok, failed, skipped]) == ExitCode.PARTIAL == 4


def test_the_report_lists_every_pair_and_counts_them(tmp_path: Path) -> None:
    results = [
        PairResult("a.png", "v.mp4", "a__v.mp4", "ok", 1.5, frames=25),
        PairResult("c.png", "v.mp4", "c__v.mp4", "failed", 0.2, error="no face"),
    ]
    report = tmp_path / "report.json"
    write_report(report, results)
    written = json.loads(report.read_text())
    assert written["summary"] == {"ok": 1, "skipped": 0, "failed": 1}
    assert written["pairs"][1] == {
        "source": "c.png",
        "driving": "v.mp4",
        "output": "c__v.mp4",
        "status": "failed",
        "seconds": 0.2,
        "error": "no face",
        "frames": None,
    }
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temporary left


def test_a_report_path_is_checked_before_any_work(tmp_path: Path) -> None:
    check_report_path(tmp_path / "report.json")
    with pytest.raises(InputError, match="is a folder; give a file name"):
        check_report_path(tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        check_report_path(tmp_path / "missing" / "report.json")
