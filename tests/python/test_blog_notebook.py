"""The AWS blog tutorial's notebook (examples/iris/notebook.py: plain boto3 and
xmltodict) runs unchanged against hitloop's MTurk-compatible service and its
simulated crowd, and every number it sees is consistent."""
from decimal import Decimal

import notebook


def test_the_blog_notebook_labels_every_iris(mturk_endpoint, mturk_credentials, iris):
    out = notebook.run(mturk_endpoint, iris, timeout=240, credentials=mturk_credentials)
    results, mturk = out["results"], out["client"]

    assert len({r["hit_id"] for r in results}) == 150, "one HIT per image"
    assert len({r["hit_type_id"] for r in results}) == 1, "identical attributes share one HIT type"
    assert out["labeled"] == 150, "every item got two agreeing answers"
    assert out["correct"] / 150 >= 0.9, f"crowd accuracy {out['correct']}/150"
    assert out["extra_assignments"] > 0, "a mixed-quality crowd disagrees sometimes"
    assert all(len(r["answers"]) <= 9 for r in results), "the 10-assignment rule caps a HIT at 9"

    # every approved assignment cost $0.05 + $0.01 commission, nothing else
    assert out["approved"] >= 300
    assert out["spent"] == Decimal("0.06") * out["approved"], (out["spent"], out["approved"])

    last = results[-1]["last_assignment"]
    try:
        mturk.approve_assignment(AssignmentId=last)
        raise AssertionError("approving twice must fail")
    except mturk.exceptions.RequestError as e:
        assert e.response["TurkErrorCode"] == "AWS.MechanicalTurk.InvalidAssignmentState"
        assert "can be called with a status of: Submitted" in e.response["Error"]["Message"]
