"""moto server, with fixes that hitloop's tests and benchmark depend on.

1. Requests to DynamoDB are served one at a time. moto's server is threaded,
   and its TransactWriteItems snapshots whole tables and restores the snapshot
   when a transaction is cancelled, which silently undoes writes that other
   requests made in between. Real DynamoDB never loses a committed write.
2. A transaction snapshots only the items it touches instead of deep-copying
   every table it names, so its cost no longer grows with the table.
3. A Query reads only what it can return. moto's Table.query starts from
   every item of the table, sorted (all_items), and filters: each Query cost
   grew with the table (25 ms at a few thousand items, the workforce service's
   store making hundreds a minute). A Query on the table now starts from its
   one partition, and a Query on an index from the items unsorted (moto sorts
   what matched afterwards).
4. SQS stays fast with deep queues: moto recomputes the three
   ApproximateNumberOfMessages* counts (a pass over every message, reading the
   clock per message) whenever any code reads a queue's attributes, including
   on every SendMessage. The counts are now computed only for
   GetQueueAttributes, and message visibility reads a cheap clock.
5. SageMaker's UpdateEndpoint, which moto lacks: the endpoint moves to the
   new endpoint configuration (in service at once, as moto's endpoints are;
   the local stack's endpoint stand-in announces the move). An unknown
   endpoint or configuration is refused as SageMaker refuses it.
6. CloudWatch in the Smithy RPC v2 CBOR protocol, which current AWS SDKs
   speak and moto does not: PutMetricData and GetMetricStatistics are served
   from moto's CloudWatch backend (cloudwatch_cbor.py).

Usage: python moto_server.py -H 127.0.0.1 -p PORT (the flags of moto_server).
"""
import copy
import sys
import threading

import time

import moto.dynamodb.models as models
import moto.sqs.models as sqs_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.server import main
from moto.sqs.models import Queue, SQSBackend
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.responses import SageMakerResponse

import cloudwatch_cbor

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


_original_query = Table.query


def _query(self, hash_key, *args, **kwargs):
    # query(hash_key, range_comparison, range_objs, limit, exclusive_start_key,
    #       scan_index_forward, projection_expressions, index_name, ...)
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
    if index_name is None and hash_key is not None and self.range_key_attr:
        partition = list(self.items.get(hash_key, {}).values())
        self.all_items = lambda: partition
    elif self.range_key_attr:
        self.all_items = lambda: [item for part in self.items.values() for item in part.values()]
    try:
        return _original_query(self, hash_key, *args, **kwargs)
    finally:
        self.__dict__.pop("all_items", None)


_counts = threading.local()
_original_attributes = Queue.attributes.fget
_original_get_queue_attributes = SQSBackend.get_queue_attributes
_original_unix_time_millis = sqs_models.unix_time_millis


def _attributes(self):
    if getattr(_counts, "wanted", False):
        return _original_attributes(self)
    # Everything but the counts: hide them from the original for this call.
    saved = Queue.BASE_ATTRIBUTES
    self.BASE_ATTRIBUTES = [a for a in saved if not a.startswith("Approximate")]
    try:
        return _original_attributes(self)
    finally:
        del self.BASE_ATTRIBUTES


def _get_queue_attributes(self, *args, **kwargs):
    _counts.wanted = True
    try:
        return _original_get_queue_attributes(self, *args, **kwargs)
    finally:
        _counts.wanted = False


def _unix_time_millis(dt=None):
    return time.time() * 1000.0 if dt is None else _original_unix_time_millis(dt)


def _update_endpoint(self):
    name = self._get_param("EndpointName")
    config_name = self._get_param("EndpointConfigName")
    backend = self.sagemaker_backend
    endpoint = backend.endpoints.get(name)
    if endpoint is None:
        raise ValidationError(message=f"Could not find endpoint '{name}'.")
    config = backend.describe_endpoint_config(config_name)
    endpoint.endpoint_config_name = config_name
    endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
    endpoint.last_modified_time = utcnow()
    return ActionResult({"EndpointArn": endpoint.arn})


SageMakerResponse.update_endpoint = _update_endpoint
Queue.attributes = property(_attributes)
SQSBackend.get_queue_attributes = _get_queue_attributes
sqs_models.unix_time_millis = _unix_time_millis
DynamoHandler.call_action = _serialised_call_action
DynamoDBBackend.transact_write_items = _transact_write_items
Table.query = _query
cloudwatch_cbor.install()

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
