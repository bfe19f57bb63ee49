"""Unit tests of the rule in plain CPython, without building (README.md says how to run them)."""

import unittest

import app
from tracewarden_sdk.testing import EventBuilder, run


def db(operation, principal, item, secs):
    return (
        EventBuilder.db(operation, "orders").key("orderId", item).principal(principal).at_secs(secs)
    )


class ReadAfterDeleteTest(unittest.TestCase):
    def test_a_read_after_the_readers_own_delete_is_a_finding(self):
        findings = run(
            app.ReadAfterDelete,
            [
                db("GetItem", "alice", "o-1", 1).id("read-before"),
                db("DeleteItem", "alice", "o-1", 2).id("delete"),
                db("GetItem", "alice", "o-1", 3).id("read-after"),
            ],
        )
        self.assertEqual(
            [(f.rule_id, f.principal, f.resource) for f in findings],
            [("{{rule_id}}", "alice", "orders/orderId=o-1")],
        )
        self.assertEqual(
            [(e.event_id, e.role) for e in findings[0].evidence],
            [("delete", "delete"), ("read-after", "read")],
        )

    def test_another_reader_another_item_or_a_failed_delete_is_no_finding(self):
        findings = run(
            app.ReadAfterDelete,
            [
                db("DeleteItem", "alice", "o-1", 1),
                db("GetItem", "bob", "o-1", 2),
                db("GetItem", "alice", "o-2", 3),
                db("DeleteItem", "alice", "o-3", 4).error("ConditionalCheckFailedException"),
                db("GetItem", "alice", "o-3", 5),
            ],
        )
        self.assertEqual(findings, [])


if __name__ == "__main__":
    unittest.main()
