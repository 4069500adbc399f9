// The four workloads of the Node.js comparison on Fastify, written as its
// documentation writes routes (logging off, as for every server in the harness):
// GET /plaintext, GET /json, GET /users/:id, POST /echo. WORKERS > 1: that many
// processes in cluster mode. Listens on HOST/PORT. Install: `npm ci` in this folder.
'use strict';
const cluster = require('node:cluster');

const workers = Number(process.env.WORKERS || 1);
if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('exit', () => process.exit(1));
} else {
  const app = require('fastify')({ logger: false });
  app.get('/plaintext', (req, reply) => {
    reply.type('text/plain; charset=utf-8').send('Hello, World!');
  });
  app.get('/json', () => ({ message: 'Hello, World!' }));
  app.get('/users/:id', {
    schema: { params: { type: 'object', properties: { id: { type: 'integer', minimum: 0 } } } },
  }, (req) => ({ id: req.params.id, name: `user-${req.params.id}` }));
  app.post('/echo', (req) => req.body);
  app.listen({ port: Number(process.env.PORT || 8093), host: process.env.HOST || '127.0.0.1' });
}
