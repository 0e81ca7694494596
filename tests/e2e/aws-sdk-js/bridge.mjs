// Runs Lambda operations through @aws-sdk/client-lambda for the e2e tests, one at a time: a JSON
// request per line on stdin, {"op": "CreateFunction", "input": {...}}, and a JSON answer per line
// on stdout, {"output": {...}} or {"error": {...}}. Blobs travel as base64 (Code.ZipFile, ZipFile,
// Payload) both ways. The op "paginateListFunctions" runs the SDK's paginator and answers
// {"output": {"pages": [[names], ...]}}.
//
// Usage: node bridge.mjs <dir with node_modules> <endpoint>. Credentials and region come from the
// environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION) as for any application.
import { createRequire } from "node:module";
import path from "node:path";
import readline from "node:readline";

const [root, endpoint] = process.argv.slice(2);
const sdk = createRequire(path.join(root, "package.json"))("@aws-sdk/client-lambda");
const client = new sdk.LambdaClient({ endpoint, maxAttempts: 1 });

function fromBase64(s) {
  return new Uint8Array(Buffer.from(s, "base64"));
}

function decodeInput(input) {
  const out = { ...input };
  if (out.Code?.ZipFile) out.Code = { ...out.Code, ZipFile: fromBase64(out.Code.ZipFile) };
  if (out.ZipFile) out.ZipFile = fromBase64(out.ZipFile);
  if (out.Payload) out.Payload = fromBase64(out.Payload);
  return out;
}

async function run(op, input) {
  if (op === "paginateListFunctions") {
    const pages = [];
    const paginator = sdk.paginateListFunctions({ client, pageSize: input.pageSize }, {});
    for await (const page of paginator) {
      pages.push(page.Functions.map((f) => f.FunctionName));
      if (pages.length > 100) throw new Error("ListFunctions kept answering NextMarker");
    }
    return { pages };
  }
  const Command = sdk[`${op}Command`];
  if (!Command) throw new Error(`@aws-sdk/client-lambda has no ${op}Command`);
  const output = await client.send(new Command(decodeInput(input)));
  const { $metadata, ...rest } = output;
  if (rest.Payload) rest.Payload = Buffer.from(rest.Payload).toString("base64");
  rest.$httpStatusCode = $metadata.httpStatusCode;
  return rest;
}

function describe(err) {
  return {
    name: err.name,
    message: err.message,
    status: err.$metadata?.httpStatusCode ?? null,
    // The class the SDK made the error with: its modelled exception when there is one.
    className: err.constructor?.name ?? null,
    serviceException: err instanceof sdk.LambdaServiceException,
    fault: err.$fault ?? null,
  };
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let answer;
  try {
    const { op, input } = JSON.parse(line);
    answer = { output: await run(op, input ?? {}) };
  } catch (err) {
    answer = { error: describe(err) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
