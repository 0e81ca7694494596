// Invokes cascade-loop-a (Python), which invokes this one again: a loop the depth limit stops.
// Uses Node's built-in fetch.
exports.handler = async (event) => {
  const hops = (event.hops ?? 0) + 1;
  const url = new URL("/2015-03-31/functions/cascade-loop-a/invocations",
                      process.env.AWS_ENDPOINT_URL_LAMBDA);
  const res = await fetch(url, {method: "POST", body: JSON.stringify({hops})});
  const data = await res.json();
  if (res.status === 200) return data;
  return {hops, status: res.status, type: res.headers.get("x-amzn-errortype"),
          message: data.message};
};
