// A slowloris attacker in its own process (so the router's descriptor count is its own): keeps
// `count` connections open to 127.0.0.1:port, each sending half a request and then nothing, and opens
// a new one whenever the server closes one. Reports {open, opened, closedByServer} on IPC every 100 ms.
import { connect } from 'node:net';

const port = Number(process.argv[2]);
const count = Number(process.argv[3]);
let open = 0;
let opened = 0;
let closedByServer = 0;
let stopping = false;

function one(): void {
  if (stopping) return;
  const sock = connect(port, '127.0.0.1');
  sock.on('connect', () => {
    open++;
    opened++;
    sock.write(`GET /api/v1/sandboxes HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow: `);
  });
  sock.on('error', () => undefined);
  sock.on('close', (hadError) => {
    if (sock.readyState !== 'opening') open = Math.max(0, open - 1);
    if (!stopping) {
      closedByServer += hadError ? 0 : 1;
      setTimeout(one, 5); // like a real attacker: come back at once
    }
  });
}

// Ramp up in batches so the listen backlog is not the limit being measured.
let started = 0;
const ramp = setInterval(() => {
  for (let i = 0; i < 200 && started < count; i++, started++) one();
  if (started >= count) clearInterval(ramp);
}, 10);
setInterval(() => process.send?.({ open, opened, closedByServer }), 100);
process.on('message', (m) => {
  if (m === 'stop') {
    stopping = true;
    process.exit(0);
  }
});
