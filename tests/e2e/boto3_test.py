"""Lambda's REST API on `gust serve` through boto3 (Debian's python3-boto3, run by
/usr/bin/python3): the story of lambda_story.py, signed with an access key the server issued."""
import contextlib
import os
import unittest

import boto3
import botocore.exceptions

from lambda_operations import OperationClient
from lambda_story import LambdaFailure, Story


@contextlib.contextmanager
def environment(env):
    """os.environ is `env` while a client is made: boto3 reads its credentials, region and retry
    settings from the environment then, as an application's client would."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class Boto3Client(OperationClient):
    def __init__(self, url, env):
        with environment(env):
            session = boto3.session.Session()
            self.client = session.client("lambda", endpoint_url=url)
        credentials = session.get_credentials()
        if credentials.method != "env" or credentials.access_key != env["AWS_ACCESS_KEY_ID"]:
            raise AssertionError(f"boto3 took its credentials from {credentials.method}, not "
                                 "from the environment")

    def close(self):
        self.client.close()

    def failure(self, e):
        """The LambdaFailure for a ClientError, after checking that boto3 raised the exception
        class its model has for the error code (Lambda's model has one for most)."""
        error, meta = e.response["Error"], e.response["ResponseMetadata"]
        modelled = getattr(self.client.exceptions, error["Code"], None)
        if modelled is not None and not isinstance(e, modelled):
            raise AssertionError(f"boto3 raised {type(e).__name__}, not {error['Code']}: {e}")
        return LambdaFailure(error["Code"], error.get("Message", ""), meta["HTTPStatusCode"])

    def call(self, operation, params):
        method = getattr(self.client, botocore.xform_name(operation))
        try:
            out = method(**params)
        except botocore.exceptions.ClientError as e:
            raise self.failure(e) from None
        out.pop("ResponseMetadata")
        if operation == "Invoke":
            out["Payload"] = out["Payload"].read()
        return out

    def list_function_pages(self, page_size):
        """boto3's paginator, which follows NextMarker."""
        paginator = self.client.get_paginator("list_functions")
        try:
            pages = [[f["FunctionName"] for f in page["Functions"]] for page in
                     paginator.paginate(PaginationConfig={"PageSize": page_size, "MaxItems": 100})]
        except botocore.exceptions.ClientError as e:
            raise self.failure(e) from None
        return pages


class Boto3Test(Story, unittest.TestCase):
    @classmethod
    def make_client(cls, url, env, work):
        return Boto3Client(url, env)


if __name__ == "__main__":
    unittest.main()
