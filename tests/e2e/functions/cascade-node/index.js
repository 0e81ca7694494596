// Invokes another function with plain http (Node has no AWS SDK built in): Lambda's REST Invoke
// on the endpoint in AWS_ENDPOINT_URL_LAMBDA.
const http = require("node:http");

exports.handler = async (event) => {
  const url = new URL(`/2015-03-31/functions/${encodeURIComponent(event.target)}/invocations`,
                      process.env.AWS_ENDPOINT_URL_LAMBDA);
  const body = JSON.stringify(event.payload ?? {});
  return await new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: "POST",
      headers: {"Content-Type": "application/json", "Content-Length": Buffer.byteLength(body)},
    }, (res) => {
      let data = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => { data += chunk; });
      res.on("end", () => resolve({status: res.statusCode,
                                   type: res.headers["x-amzn-errortype"] ?? null,
                                   payload: JSON.parse(data)}));
    });
    req.on("error", reject);
    req.end(body);
  });
};
