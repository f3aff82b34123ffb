"""The extraction files' stamp (analysis/inputs/corpusstamp.py): its name changes with every
added, removed or changed file and with nothing else, and no file is opened to make it."""

from __future__ import annotations

import os
import time

from analysis.inputs import corpusstamp


def _corpus(tmp_path, n=3):
    folder = tmp_path / "extracted"
    folder.mkdir()
    paths = []
    for i in range(n):
        path = folder / f"s{i}.yaml"
        path.write_text(f"study: s{i}\n", encoding="utf-8")
        paths.append(str(path))
    return paths


def test_the_name_changes_with_every_kind_of_change(tmp_path):
    paths = _corpus(tmp_path)
    first = corpusstamp.stamp_name(paths)
    assert corpusstamp.stamp_name(paths) == first  # nothing changed: the same name
    names = {first}
    # added
    extra = tmp_path / "extracted" / "s9.yaml"
    extra.write_text("study: s9\n", encoding="utf-8")
    names.add(corpusstamp.stamp_name([*paths, str(extra)]))
    # removed
    names.add(corpusstamp.stamp_name(paths[:-1]))
    # edited to the same size (only the modification time tells)
    stat = os.stat(paths[0])
    with open(paths[0], "w", encoding="utf-8") as handle:
        handle.write("study: s7\n")
    os.utime(paths[0], ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    names.add(corpusstamp.stamp_name(paths))
    # edited to another size, with the old modification time put back
    before = os.stat(paths[1])
    with open(paths[1], "a", encoding="utf-8") as handle:
        handle.write("# more\n")
    os.utime(paths[1], ns=(before.st_atime_ns, before.st_mtime_ns))
    names.add(corpusstamp.stamp_name(paths))
    # edited to the same size with the old modification time put back (touch -r, sync
    # tools): the status-change time tells
    before = os.stat(paths[1])
    time.sleep(0.02)  # past the file system's clock tick, so the status-change time moves
    with open(paths[1], "r+", encoding="utf-8") as handle:
        handle.write("S")
    os.utime(paths[1], ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(paths[1]).st_size == before.st_size
    names.add(corpusstamp.stamp_name(paths))
    # a file gone between the listing and the stamp
    os.unlink(paths[2])
    names.add(corpusstamp.stamp_name(paths))
    assert len(names) == 7
    assert all(corpusstamp.STAMP_PREFIX in n and n.endswith(corpusstamp.STAMP_SUFFIX) for n in names)


def test_no_file_is_opened(tmp_path, monkeypatch):
    paths = _corpus(tmp_path)

    def refuse(*args, **kwargs):
        raise AssertionError("opened a file")

    monkeypatch.setattr("builtins.open", refuse)
    corpusstamp.stamp_name(paths)
