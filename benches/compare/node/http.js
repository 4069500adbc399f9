// The four workloads of the Node.js comparison on Node's own `http` module, written
// as its documentation writes a server: GET /plaintext, GET /json, GET /users/:id,
// POST /echo (JSON parsed and answered). WORKERS > 1: that many processes in
// cluster mode (the primary only forks). Listens on HOST/PORT.
'use strict';
const cluster = require('node:cluster');
const http = require('node:http');

const workers = Number(process.env.WORKERS || 1);
if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('exit', () => process.exit(1));
} else {
  const json = (res, status, value) => {
    const body = JSON.stringify(value);
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  };
  http
    .createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/plaintext') {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 13 });
        res.end('Hello, World!');
      } else if (req.method === 'GET' && req.url === '/json') {
        json(res, 200, { message: 'Hello, World!' });
      } else if (req.method === 'GET' && req.url.startsWith('/users/')) {
        const id = Number(req.url.slice(7));
        if (!Number.isInteger(id) || id < 0) return json(res, 400, { error: 'bad id' });
        json(res, 200, { id, name: `user-${id}` });
      } else if (req.method === 'POST' && req.url === '/echo') {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
          try {
            json(res, 200, JSON.parse(Buffer.concat(chunks)));
          } catch {
            json(res, 400, { error: 'bad json' });
          }
        });
      } else {
        res.writeHead(404).end();
      }
    })
    .listen(Number(process.env.PORT || 8092), process.env.HOST || '127.0.0.1');
}
