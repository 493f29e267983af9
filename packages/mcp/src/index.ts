export { createMcpServer } from './server.ts';
export { serveStdio } from './stdio.ts';
