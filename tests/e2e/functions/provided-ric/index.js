// A plain Lambda Node handler, nothing Gust-specific.
exports.handler = async (event, context) => {
  if (event.fail) throw new RangeError('ric failure');
  console.log('ric handling', context.awsRequestId);
  return {
    statusCode: 200,
    body: JSON.stringify(event),
    requestId: context.awsRequestId,
    functionName: context.functionName,
    memoryLimitInMB: context.memoryLimitInMB,
    remainingPositive: context.getRemainingTimeInMillis() > 0,
  };
};
