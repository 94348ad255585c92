"""Requester authentication as boto3 meets it: every request is checked with
AWS Signature Version 4 against the key the service was given, and each kind
of failure answers with the error (``__type`` and HTTP status) an AWS JSON
endpoint gives."""
import datetime
from unittest import mock

import boto3
import pytest
from botocore.exceptions import ClientError


def client(endpoint, **credentials):
    return boto3.client("mturk", region_name="us-east-1", endpoint_url=endpoint, **credentials)


def refused(call):
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_a_signed_request_is_answered_in_any_region(mturk_endpoint, mturk_credentials):
    for region in ["us-east-1", "eu-west-1", "sandbox"]:
        c = boto3.client("mturk", region_name=region, endpoint_url=mturk_endpoint, **mturk_credentials)
        assert float(c.get_account_balance()["AvailableBalance"]) >= 0


def test_an_unknown_key_is_unrecognized(mturk_endpoint, mturk_credentials):
    c = client(mturk_endpoint, aws_access_key_id="AKHLNOSUCHKEY0000000",
               aws_secret_access_key=mturk_credentials["aws_secret_access_key"])
    assert refused(c.get_account_balance) == ("UnrecognizedClientException", 400)


def test_a_wrong_secret_does_not_match(mturk_endpoint, mturk_credentials):
    c = client(mturk_endpoint, aws_access_key_id=mturk_credentials["aws_access_key_id"],
               aws_secret_access_key="not-the-secret")
    assert refused(c.get_account_balance) == ("InvalidSignatureException", 400)


def test_a_body_changed_after_signing_does_not_match(mturk_endpoint, mturk_credentials):
    c = client(mturk_endpoint, **mturk_credentials)

    def tamper(request, **_):
        request.body = request.body.replace(b'"MaxResults": 5', b'"MaxResults": 6')

    c.meta.events.register_last("before-send.mturk", tamper)
    assert refused(lambda: c.list_hits(MaxResults=5)) == ("InvalidSignatureException", 400)


def test_a_header_changed_after_signing_does_not_match(mturk_endpoint, mturk_credentials):
    c = client(mturk_endpoint, **mturk_credentials)

    def retarget(request, **_):
        request.headers["X-Amz-Target"] = "MTurkRequesterServiceV20170117.ListHITs"

    c.meta.events.register_last("before-send.mturk", retarget)
    assert refused(c.get_account_balance) == ("InvalidSignatureException", 400)


def test_a_request_signed_ten_minutes_ago_has_expired(mturk_endpoint, mturk_credentials):
    c = client(mturk_endpoint, **mturk_credentials)
    stale = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(minutes=10)
    with mock.patch("botocore.auth.get_current_datetime", return_value=stale):
        with pytest.raises(ClientError) as e:
            c.get_account_balance()
    assert e.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert "Signature expired" in e.value.response["Error"]["Message"]


def test_an_unsigned_request_is_missing_its_token(mturk_endpoint):
    from botocore import UNSIGNED
    from botocore.config import Config

    c = boto3.client("mturk", region_name="us-east-1", endpoint_url=mturk_endpoint,
                     config=Config(signature_version=UNSIGNED))
    assert refused(c.get_account_balance) == ("MissingAuthenticationTokenException", 400)
