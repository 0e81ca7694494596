// The handler every contender of bench/gateway_bench.py serves (Node.js).
module.exports.handler = async (event, context) => ({ statusCode: 200, body: 'hi' });
