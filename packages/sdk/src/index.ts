export { AgentTier } from './client.ts';
export { Sandbox, normalizeSandboxView } from './sandbox.ts';
export { SandboxFiles, normalizeRemotePath, type TransferResult } from './files.ts';
export { Templates, type TemplateCallOpts } from './templates.ts';
export * from './errors.ts';
export * from './types.ts';
export { SSEParser, readSSE, eventPayload, type SSEEvent } from './sse.ts';
export { DEFAULT_API_URL, DEFAULT_TIMEOUT_MS, type AgentTierOpts } from './options.ts';
export { SDK_VERSION } from './version.ts';
