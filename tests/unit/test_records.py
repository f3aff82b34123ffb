"""Record counts for the PRISMA diagram: a study whose full text was never read is not 'read'."""

from analysis.inputs.records import count_records


def test_a_record_whose_full_text_was_not_reached_counts_as_not_reached():
    records = [
        {"study": "a", "status": "coded", "identified_by": "packet-2"},
        {"study": "b", "status": "narrative", "not_poolable": "qualitative design"},
        {"study": "c", "status": "narrative", "not_poolable": "book; full text not reached"},
        {"study": "d", "status": "narrative", "not_poolable": "its full text was not read"},
        {"study": "e", "kind": "context", "status": "narrative", "not_poolable": "full text not reached"},
    ]
    counts = count_records(records, bibliography=["a", "b", "c", "d", "e", "f"])
    assert (counts.studies, counts.narrative, counts.coded, counts.context) == (4, 3, 1, 1)
    assert (counts.not_retrieved, counts.not_read, counts.unreached) == (1, 2, 3)
    assert (counts.read, counts.read_narrative) == (2, 1)
    assert counts.identified["packet-2"] == 1 and counts.identified["not recorded"] == 4
