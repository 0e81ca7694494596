// The Node.js handler served by Node's own http module on 127.0.0.1:PORT (argv[2]): each
// request calls it and writes its statusCode and body, as bench/gateway_bench.py's baseline.
'use strict';
const http = require('http');
const path = require('path');
const { handler } = require(path.join(__dirname, '..', 'hi-node', 'handler.js'));

const port = Number(process.argv[2]);
http.createServer(async (req, res) => {
  const r = await handler({}, {});
  res.writeHead(r.statusCode, {
    'Content-Type': 'text/plain',
    'Content-Length': Buffer.byteLength(r.body),
  });
  res.end(r.body);
}).listen(port, '127.0.0.1');
