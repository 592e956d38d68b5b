// The API: counts visits in redis (REDIS_URL, which Kyozo wires to its redis service)
// with nothing but node's own modules: one RESP command per request.
const http = require('http');
const net = require('net');

const redis = new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379/0');

function incr(key) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(redis.port || 6379), redis.hostname);
    let reply = '';
    socket.setTimeout(2000, () => socket.destroy(new Error('redis did not answer')));
    socket.on('connect', () => socket.write(`*2\r\n$4\r\nINCR\r\n$${key.length}\r\n${key}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk;
      if (reply.endsWith('\r\n')) {
        socket.end();
        if (reply.startsWith(':')) resolve(Number(reply.slice(1)));
        else reject(new Error(reply.trim()));
      }
    });
    socket.on('error', reject);
  });
}

http
  .createServer(async (req, res) => {
    if (req.url === '/healthz') {
      res.end('ok\n');
      return;
    }
    try {
      const hits = await incr('hits');
      console.log(`${req.method} ${req.url} hit ${hits}`);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ service: 'api', hits }) + '\n');
    } catch (e) {
      console.error(`redis: ${e.message}`);
      res.statusCode = 503;
      res.end(`redis: ${e.message}\n`);
    }
  })
  .listen(process.env.PORT || 8411, () => console.log('api listening'));
