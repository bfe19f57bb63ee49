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

    def test_the_oldest_delete_is_dropped_past_the_bound(self):
        events = [
            db("DeleteItem", "alice", "o-1", 1),
            db("DeleteItem", "alice", "o-2", 2),
            db("DeleteItem", "alice", "o-1", 3),
            db("DeleteItem", "alice", "o-3", 4),
            db("GetItem", "alice", "o-1", 5),
            db("GetItem", "alice", "o-2", 6),
            db("GetItem", "alice", "o-3", 7),
        ]
        findings = run(app.ReadAfterDelete, events, {"max_deleted_items": 2})
        # o-2 was the oldest when o-3 came: o-1's second delete made it newer.
        self.assertEqual(
            [f.resource for f in findings], ["orders/orderId=o-1", "orders/orderId=o-3"]
        )
        with self.assertRaisesRegex(ValueError, "^option `max_deleted_items` is 0: expected 1"):
            run(app.ReadAfterDelete, events, {"max_deleted_items": 0})


if __name__ == "__main__":
    unittest.main()
