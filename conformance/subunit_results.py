"""Decode a subunit v2 stream (stdin) into one JSON line per test: id, status, reason.

Run by the tempest virtualenv's Python, which has python-subunit and testtools; conformance/run.py
reads the lines. A status is success, fail or skip (xfail counts as success, uxsuccess as fail);
the reason is the skip's reason or the failure's traceback.
"""

import json
import sys

import subunit
import testtools

STATUS = {"success": "success", "xfail": "success", "skip": "skip"}


def emit(test):
    status = test["status"]
    if status in ("exists", "inprogress"):
        return
    details = test["details"]
    reason = ""
    for key in ("reason", "traceback"):
        if key in details:
            reason = details[key].as_text()
            break
    record = {"id": test["id"], "status": STATUS.get(status, "fail"), "reason": reason}
    sys.stdout.write(json.dumps(record) + "\n")


stream = subunit.ByteStreamToStreamResult(sys.stdin.buffer, non_subunit_name="stdout")
result = testtools.StreamToDict(emit)
result.startTestRun()
stream.run(result)
result.stopTestRun()
