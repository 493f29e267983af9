export { createMcpServer } from './server.ts';
export { serveStdio } from './stdio.ts';
export { startMcpHttp, type McpHttpOpts, type McpHttpServer } from './http.ts';
export { McpSessions, MCP_SESSION_DEFAULTS, type McpSession, type McpSessionLimits } from './sessions.ts';
export type { ClientForRequest, ToolExtra } from './tools/registry.ts';
