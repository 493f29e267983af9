import { readFileSync } from 'node:fs';

/**
 * The source of a dependency-free HTTP + WebSocket echo server to run inside a sandbox
 * (`node server.js PORT`): GET answers "hello from the sandbox METHOD URL", a WebSocket echoes short
 * text frames as "echo:…". For tests of what carries traffic into a sandbox (preview proxy, tunnels).
 */
export const WS_ECHO_SERVER_JS = readFileSync(new URL('./ws-echo-server.js', import.meta.url), 'utf8');
