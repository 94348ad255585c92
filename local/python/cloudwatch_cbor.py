"""CloudWatch in the Smithy RPC v2 CBOR protocol, for moto's server.

Current AWS SDKs (the Rust one included) call CloudWatch in RPC v2 CBOR:
POST /service/GraniteServiceVersion20100801/operation/<Operation>, CBOR in
and out. moto 5.2.5 serves CloudWatch in the Query and JSON protocols only.
This serves the two operations hitloop calls, PutMetricData (the local
endpoint stand-in counting invocations) and GetMetricStatistics (`hitloop
status`), from moto's own CloudWatch backend, and answers in CBOR as
CloudWatch does: timestamps as tag 1 (epoch seconds), errors as a map with
`__type` and `message`. Any other CloudWatch operation in CBOR is refused
with UnknownOperationException.
"""
from datetime import datetime, timezone

import cbor2
from moto.cloudwatch.models import cloudwatch_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

PREFIX = "/service/GraniteServiceVersion20100801/operation/"


def _naive_utc(value):
    """moto keeps naive UTC datetimes; CBOR's tag 1 decodes to aware ones."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc).replace(tzinfo=None)
    return value


def _aware(value):
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _region(environ):
    # Authorization: AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/monitoring/aws4_request, ...
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        return auth.split("Credential=", 1)[1].split("/")[2]
    except IndexError:
        return "us-east-1"


def _put_metric_data(backend, request):
    data = []
    for datum in request.get("MetricData", []):
        datum = dict(datum)
        if "Timestamp" in datum:
            datum["Timestamp"] = _naive_utc(datum["Timestamp"])
        data.append(datum)
    backend.put_metric_data(request["Namespace"], data)
    return {}


def _get_metric_statistics(backend, request):
    stats = request.get("Statistics", [])
    found = backend.get_metric_statistics(
        request["Namespace"],
        request["MetricName"],
        _naive_utc(request["StartTime"]),
        _naive_utc(request["EndTime"]),
        int(request["Period"]),
        stats,
        dimensions=request.get("Dimensions", []),
        unit=request.get("Unit"),
    )
    points = []
    for s in found:
        point = {"Timestamp": _aware(s.timestamp)}
        for stat, value in [
            ("SampleCount", s.sample_count),
            ("Sum", s.sum),
            ("Average", s.average),
            ("Minimum", s.minimum),
            ("Maximum", s.maximum),
        ]:
            if stat in stats and value is not None:
                point[stat] = float(value)
        if s.unit:
            point["Unit"] = s.unit
        points.append(point)
    return {"Label": request["MetricName"], "Datapoints": points}


OPERATIONS = {"PutMetricData": _put_metric_data, "GetMetricStatistics": _get_metric_statistics}


def _answer(start_response, status, body):
    payload = cbor2.dumps(body, datetime_as_timestamp=True, timezone=timezone.utc)
    start_response(
        status,
        [
            ("Content-Type", "application/cbor"),
            ("smithy-protocol", "rpc-v2-cbor"),
            ("Content-Length", str(len(payload))),
        ],
    )
    return [payload]


def serve(environ, start_response):
    operation = environ["PATH_INFO"][len(PREFIX):]
    handler = OPERATIONS.get(operation)
    if handler is None:
        body = {"__type": "UnknownOperationException", "message": f"{operation} is not served in CBOR here"}
        return _answer(start_response, "400 Bad Request", body)
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    backend = cloudwatch_backends[DEFAULT_ACCOUNT_ID][_region(environ)]
    try:
        request = cbor2.loads(raw) if raw else {}
        return _answer(start_response, "200 OK", handler(backend, request))
    except Exception as e:  # a body that is not CBOR, a missing field, moto's validation: a bad request
        kind = getattr(e, "error_type", None) or "InvalidParameterValue"
        return _answer(start_response, "400 Bad Request", {"__type": kind, "message": str(e)})


_original_call = DomainDispatcherApplication.__call__


def _call(self, environ, start_response):
    if environ.get("PATH_INFO", "").startswith(PREFIX):
        return serve(environ, start_response)
    return _original_call(self, environ, start_response)


def install():
    DomainDispatcherApplication.__call__ = _call
