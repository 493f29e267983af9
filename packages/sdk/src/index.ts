export { AgentTier } from './client.ts';
export { Sandbox, normalizeSandboxView } from './sandbox.ts';
export { SandboxFiles, normalizeRemotePath, type TransferResult } from './files.ts';
export { SandboxProcesses } from './processes.ts';
export { SandboxPorts } from './ports.ts';
export { SandboxAgent } from './agent.ts';
export {
  TerminalConnection,
  replayOverlap,
  type ReconnectOpts,
  type TerminalEnd,
  type TerminalEndReason,
  type TerminalEvents,
  type TerminalOpts,
} from './terminal.ts';
export {
  WebSocketChannel,
  toWebSocketUrl,
  type CloseInfo,
  type WebSocketConstructor,
  type WebSocketLike,
} from './websocket.ts';
export { Templates, type TemplateCallOpts } from './templates.ts';
export * from './errors.ts';
export * from './types.ts';
export { SSEParser, readSSE, eventPayload, type SSEEvent } from './sse.ts';
export { resumableEvents, type ResumeOpts } from './streams.ts';
export { DEFAULT_API_URL, DEFAULT_TIMEOUT_MS, type AgentTierOpts } from './options.ts';
export { SDK_VERSION } from './version.ts';
