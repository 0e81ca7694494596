"""The story's steps as Lambda operations with their API inputs, for the clients that take an
operation name and an input structure (boto3 and the JavaScript SDK). A subclass runs one
operation with `call(operation, input)` and returns the client's output without its metadata,
with Invoke's Payload as bytes; it raises LambdaFailure for an error."""
import json

from lambda_story import HANDLER, ROLE, RUNTIME


class OperationClient:
    def call(self, operation, params):
        raise NotImplementedError

    def close(self):
        pass

    def create_function(self, name, zip_bytes):
        return self.call("CreateFunction", {
            "FunctionName": name, "Runtime": RUNTIME, "Handler": HANDLER, "Role": ROLE,
            "MemorySize": 128, "Timeout": 10, "Code": {"ZipFile": zip_bytes}})

    def invoke(self, name, event, qualifier=None, log_tail=False):
        params = {"FunctionName": name, "Payload": json.dumps(event).encode()}
        if qualifier:
            params["Qualifier"] = qualifier
        if log_tail:
            params["LogType"] = "Tail"
        return self.call("Invoke", params)

    def update_function_code(self, name, zip_bytes):
        return self.call("UpdateFunctionCode", {"FunctionName": name, "ZipFile": zip_bytes})

    def update_function_configuration(self, name, variables):
        return self.call("UpdateFunctionConfiguration",
                         {"FunctionName": name, "Environment": {"Variables": variables}})

    def publish_version(self, name, description):
        return self.call("PublishVersion", {"FunctionName": name, "Description": description})

    def create_alias(self, name, alias, version, weights):
        return self.call("CreateAlias", {
            "FunctionName": name, "Name": alias, "FunctionVersion": version,
            "RoutingConfig": {"AdditionalVersionWeights": weights}})

    def get_alias(self, name, alias):
        return self.call("GetAlias", {"FunctionName": name, "Name": alias})

    def list_aliases(self, name):
        return self.call("ListAliases", {"FunctionName": name})["Aliases"]

    def delete_alias(self, name, alias):
        return self.call("DeleteAlias", {"FunctionName": name, "Name": alias})

    def put_function_concurrency(self, name, n):
        return self.call("PutFunctionConcurrency",
                         {"FunctionName": name, "ReservedConcurrentExecutions": n})

    def get_function_concurrency(self, name):
        return self.call("GetFunctionConcurrency", {"FunctionName": name})

    def delete_function_concurrency(self, name):
        return self.call("DeleteFunctionConcurrency", {"FunctionName": name})

    def put_provisioned_concurrency(self, name, qualifier, n):
        return self.call("PutProvisionedConcurrencyConfig", {
            "FunctionName": name, "Qualifier": qualifier, "ProvisionedConcurrentExecutions": n})

    def get_provisioned_concurrency(self, name, qualifier):
        return self.call("GetProvisionedConcurrencyConfig",
                         {"FunctionName": name, "Qualifier": qualifier})

    def delete_provisioned_concurrency(self, name, qualifier):
        return self.call("DeleteProvisionedConcurrencyConfig",
                         {"FunctionName": name, "Qualifier": qualifier})

    def get_function(self, name, qualifier=None):
        return self.call("GetFunction", {"FunctionName": name,
                                         **({"Qualifier": qualifier} if qualifier else {})})

    def list_versions(self, name):
        return self.call("ListVersionsByFunction", {"FunctionName": name})["Versions"]

    def delete_function(self, name, qualifier=None):
        return self.call("DeleteFunction", {"FunctionName": name,
                                            **({"Qualifier": qualifier} if qualifier else {})})
