/* eslint-disable @typescript-eslint/no-require-imports -- runs inside the sandbox as plain CommonJS on Node 18 */
// A tiny HTTP + WebSocket echo server with no dependencies (runs on the sandbox's Node 18).
// GET / answers "hello from the sandbox"; a WebSocket upgrade echoes text frames prefixed with "echo:".
const http = require('http');
const crypto = require('crypto');
const port = Number(process.argv[2] || 8000);
const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end(`hello from the sandbox ${req.method} ${req.url}`);
});
server.on('upgrade', (req, socket) => {
  const accept = crypto
    .createHash('sha1')
    .update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
    .digest('base64');
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
  socket.on('data', (buf) => {
    const len = buf[1] & 0x7f; // short frames only (< 126 bytes)
    const mask = buf.subarray(2, 6);
    const payload = Buffer.from(buf.subarray(6, 6 + len).map((b, i) => b ^ mask[i % 4]));
    if ((buf[0] & 0x0f) === 8) return socket.end();
    const out = Buffer.from('echo:' + payload.toString());
    socket.write(Buffer.concat([Buffer.from([0x81, out.length]), out]));
  });
});
server.listen(port, '127.0.0.1', () => console.log(`listening on ${port}`));
