import { connect } from 'node:net';

/* eslint-disable @typescript-eslint/no-explicit-any -- test helpers return loosely typed JSON for terse assertions */

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  json: any;
}

/**
 * Writes bytes as they are to 127.0.0.1:port and reads the response until the server closes or the
 * response is complete. For requests no HTTP client would send (no Host, oversized headers, garbage).
 */
export function rawRequest(port: number, bytes: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return;
      const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const body = text.slice(split + 4);
      const length = headers['content-length'];
      if (length !== undefined && Buffer.byteLength(body) < Number(length)) return; // more to come
      done = true;
      sock.destroy();
      let json: any;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body, json });
    };
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      finish();
    });
    sock.on('end', finish);
    sock.on('close', () => {
      finish();
      if (!done)
        reject(new Error(`connection closed without a response: ${Buffer.concat(chunks).toString()}`));
    });
    sock.on('error', () => undefined); // a reset after the answer is fine; 'close' decides
    sock.write(bytes);
  });
}
