// Invokes cascade-loop-a (Python), which invokes this one again: a loop the depth limit stops.
// Uses Node's built-in fetch. {"async": true} makes every hop an Event invocation.
exports.handler = async (event) => {
  const hops = (event.hops ?? 0) + 1;
  const mode = event.async ? "Event" : "RequestResponse";
  const url = new URL("/2015-03-31/functions/cascade-loop-a/invocations",
                      process.env.AWS_ENDPOINT_URL_LAMBDA);
  const res = await fetch(url, {method: "POST", headers: {"X-Amz-Invocation-Type": mode},
                                body: JSON.stringify({hops, async: !!event.async,
                                                      tag: event.tag})});
  if (res.status === 200) return await res.json();
  if (res.status === 202) return {queued: hops};
  const stopped = {hops, status: res.status, type: res.headers.get("x-amzn-errortype"),
                   message: (await res.json()).message, tag: event.tag};
  console.log("loop stopped", JSON.stringify(stopped));
  return stopped;
};
