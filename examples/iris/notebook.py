"""The AWS blog tutorial's notebook ("Use Amazon Mechanical Turk with Amazon
SageMaker for supervised learning"), as plain boto3 and xmltodict: one HIT per
iris image, approve every answer, add an assignment wherever the answers
disagree, until every item has two agreeing answers.

Run it against any MTurk-compatible endpoint:
    python examples/iris/notebook.py http://127.0.0.1:PORT
(`make demo` starts hitloop's service with a simulated crowd and runs it.)
"""
import csv
import json
import os
import pathlib
import sys
import time
from collections import Counter
from decimal import Decimal

import boto3
import xmltodict

HERE = pathlib.Path(__file__).resolve().parent
SPECIES = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
QUESTION_XML = (
    '<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">'
    "<HTMLContent><![CDATA[{}]]></HTMLContent><FrameHeight>650</FrameHeight></HTMLQuestion>"
)
TaskAttributes = {
    "MaxAssignments": 2,
    "LifetimeInSeconds": 60 * 60 * 4,
    "AssignmentDurationInSeconds": 60 * 5,
    "Reward": "0.05",
    "Title": "Classify the species of an iris flower",
    "Keywords": "image, classification, iris",
    "Description": "Look at the photo and pick the iris species.",
}


def iris_items():
    """(image URL, true species) for the 150 flowers."""
    with open(HERE / "iris.csv", newline="") as f:
        rows = list(csv.reader(f))[1:]
    return [(f"https://images.hitloop.example/iris/{i:03d}.jpg", SPECIES[int(row[4])]) for i, row in enumerate(rows)]


def agreement(labels):
    """The label two workers agree on, if any."""
    label, count = Counter(labels).most_common(1)[0] if labels else (None, 0)
    return label if count >= 2 else None


def run(endpoint_url, items, timeout=300, log=lambda *a: None, credentials=None):
    # The requester key the service issued (HITLOOP_MTURK_ACCESS_KEY_ID and
    # HITLOOP_MTURK_SECRET_ACCESS_KEY); any value does for a sandbox started
    # with --no-auth.
    credentials = credentials or {
        "aws_access_key_id": os.environ.get("HITLOOP_MTURK_ACCESS_KEY_ID", "notebook"),
        "aws_secret_access_key": os.environ.get("HITLOOP_MTURK_SECRET_ACCESS_KEY", "notebook"),
    }
    mturk = boto3.client("mturk", region_name="us-east-1", endpoint_url=endpoint_url, **credentials)
    start_balance = mturk.get_account_balance()["AvailableBalance"]
    log(f"balance: ${start_balance}")

    html = (HERE / "template.html").read_text()
    results = []
    for url, species in items:
        r = mturk.create_hit(**TaskAttributes, Question=QUESTION_XML.format(html).replace("${image_url}", url))
        results.append({"image": url, "hit_id": r["HIT"]["HITId"], "hit_type_id": r["HIT"]["HITTypeId"], "truth": species})
    log(f"created {len(results)} HITs")

    approved = extra = 0
    deadline = time.time() + timeout
    pending = list(results)
    while pending and time.time() < deadline:
        still = []
        for item in pending:
            hit = mturk.get_hit(HITId=item["hit_id"])["HIT"]
            a = mturk.list_assignments_for_hit(
                HITId=item["hit_id"], AssignmentStatuses=["Submitted", "Approved"], MaxResults=10
            )
            labels = []
            for x in a["Assignments"]:
                answer = xmltodict.parse(x["Answer"])["QuestionFormAnswers"]["Answer"]
                free = answer["FreeText"] if isinstance(answer, dict) else answer[0]["FreeText"]
                labels.append(json.loads(free)[0]["category"]["label"])
                if x["AssignmentStatus"] == "Submitted":
                    mturk.approve_assignment(AssignmentId=x["AssignmentId"], OverrideRejection=False)
                    approved += 1
                item["last_assignment"] = x["AssignmentId"]
            item["answers"] = labels
            label = agreement(labels)
            if label:
                item["label"] = label
                continue
            all_in = hit["NumberOfAssignmentsAvailable"] == 0 and hit["NumberOfAssignmentsPending"] == 0
            if len(labels) >= hit["MaxAssignments"] and all_in and hit["MaxAssignments"] < 9:
                # "add an assignment until two workers agree" (9 at most: the 10-assignment rule)
                mturk.create_additional_assignments_for_hit(HITId=item["hit_id"], NumberOfAdditionalAssignments=1)
                extra += 1
            elif all_in and hit["MaxAssignments"] > len(labels):
                # an assignment ran out after the HIT expired: extend the HIT
                mturk.update_expiration_for_hit(HITId=item["hit_id"], ExpireAt=time.time() + 3600 * 24)
            still.append(item)
        pending = still
        log(f"{len(results) - len(pending)}/{len(results)} items agreed, {approved} assignments approved")
        if pending:
            time.sleep(0.5)

    balance = mturk.get_account_balance()
    spent = Decimal(start_balance) - Decimal(balance["AvailableBalance"]) - Decimal(balance["OnHoldBalance"])
    labeled = [r for r in results if "label" in r]
    return {
        "client": mturk,
        "results": results,
        "labeled": len(labeled),
        "correct": sum(r["label"] == r["truth"] for r in labeled),
        "approved": approved,
        "extra_assignments": extra,
        "spent": spent,
    }


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = run(sys.argv[1], iris_items(), log=print)
    n = len(out["results"])
    print()
    print(f"items labeled:         {out['labeled']}/{n}")
    print(f"crowd accuracy:        {out['correct']}/{out['labeled']} agree with the true species")
    print(f"assignments approved:  {out['approved']} ({out['approved'] / n:.2f} per item, {out['extra_assignments']} added on disagreement)")
    print(f"money spent:           ${out['spent']} (the blog estimated $18-19 for 150 x 2 x $0.05 plus fees)")


if __name__ == "__main__":
    main()
