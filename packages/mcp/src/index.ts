export { createMcpServer } from './server.ts';
export { serveStdio } from './stdio.ts';
export { startMcpHttp, type McpHttpOpts, type McpHttpServer } from './http.ts';
