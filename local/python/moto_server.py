"""moto server, with two fixes to DynamoDB that hitloop's tests depend on.

1. Requests to DynamoDB are served one at a time. moto's server is threaded,
   and its TransactWriteItems snapshots whole tables and restores the snapshot
   when a transaction is cancelled, which silently undoes writes that other
   requests made in between. Real DynamoDB never loses a committed write.
2. A transaction snapshots only the items it touches instead of deep-copying
   every table it names, so its cost no longer grows with the table.

Usage: python moto_server.py -H 127.0.0.1 -p PORT (the flags of moto_server).
"""
import copy
import sys
import threading

import moto.dynamodb.models as models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.responses import DynamoHandler
from moto.server import main

_LOCK = threading.RLock()
_original_call_action = DynamoHandler.call_action
_original_transact = DynamoDBBackend.transact_write_items


def _serialised_call_action(self, *args, **kwargs):
    with _LOCK:
        return _original_call_action(self, *args, **kwargs)


class _NoTableCopies:
    """Stands in for the `copy` module inside moto's transaction code."""

    @staticmethod
    def deepcopy(value, memo=None):
        return value


def _key_of(backend, op_type, op):
    table = backend.tables.get(op.get("TableName"))
    if table is None:
        return None
    if op_type == "Put":
        attrs = op["Item"]
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        if table.range_key_attr is not None and table.range_key_attr in attrs:
            key[table.range_key_attr] = attrs[table.range_key_attr]
        return key
    return op.get("Key")


def _transact_write_items(self, transact_items):
    with _LOCK:
        before = []
        for entry in transact_items:
            op_type, op = next(iter(entry.items()))
            key = _key_of(self, op_type, op)
            if key is None:
                continue
            try:
                current = self.get_item(op["TableName"], key)
            except Exception:  # an invalid key: moto's own code reports it
                continue
            before.append((op["TableName"], key, copy.deepcopy(current)))
        models.copy = _NoTableCopies
        try:
            return _original_transact(self, transact_items)
        except Exception:
            for table_name, key, item in before:
                if item is None:
                    try:
                        self.delete_item(table_name, key)
                    except Exception:
                        pass
                else:
                    self.put_item(table_name, item.to_json()["Attributes"])
            raise
        finally:
            models.copy = copy


DynamoHandler.call_action = _serialised_call_action
DynamoDBBackend.transact_write_items = _transact_write_items

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
