export { AgentTier } from './client.ts';
export { Sandbox } from './sandbox.ts';
export { SandboxFiles, normalizeRemotePath, type TransferResult } from './files.ts';
export { SandboxProcesses } from './processes.ts';
export { SandboxPorts } from './ports.ts';
export { SandboxAgent } from './agent.ts';
export {
  TerminalConnection,
  type ReconnectOpts,
  type TerminalEnd,
  type TerminalEndReason,
  type TerminalEvents,
  type TerminalOpts,
} from './terminal.ts';
// The channel `ports.connect()` returns: its type only (the SDK constructs it).
export type { WebSocketChannel, CloseInfo, WebSocketConstructor, WebSocketLike } from './websocket.ts';
export { Templates, type TemplateCallOpts } from './templates.ts';
export { Secrets, type PutSecretInput, type SecretCallOpts } from './secrets.ts';
export {
  AgentTierError,
  AuthenticationError,
  ConcurrencyError,
  ConfigureError,
  ConflictError,
  ConnectionError,
  ForbiddenError,
  NotConfiguredError,
  NotFoundError,
  PayloadTooLargeError,
  PolicyViolationError,
  RateLimitError,
  SandboxErrorStateError,
  ServerError,
  TimeoutError,
  ValidationError,
  // Turns an HTTP error response into the typed error (tests of code built on the SDK use it).
  errorFromResponse,
  type AgentTierErrorCode,
  type AgentTierErrorOpts,
  type ClientErrorCode,
  type HttpErrorInput,
} from './errors.ts';
export type {
  CallOpts,
  CreateSandboxOpts,
  ListSandboxesOpts,
  WaitOpts,
  ExecOpts,
  ExecStreamEvent,
  StartProcessOpts,
  ProcessOutputOpts,
  ConfigureFile,
  LogLine,
  ConfigureOpts,
  ConfigureResult,
  InvokeReason,
  InvokeOpts,
  InvokeEvent,
  InvokeResult,
  AttachOpts,
  ApplyTemplateInput,
  ApplyTemplateResult,
  AuditEventView,
  ListAuditEventsOpts,
} from './types.ts';
// The wire types the server sends, as the contract declares them.
export type {
  AgentConfigView,
  ApiKeyView,
  AuthMethods,
  AuditEventPage,
  CreatedApiKey,
  CredentialRef,
  ExecResponse,
  FileEntry,
  InvokeRecord,
  KeyScopeView,
  PatchSandboxRequest,
  PortView,
  PreviewLink,
  ProcessInfo,
  SandboxPhase,
  SandboxRole,
  SandboxShareView,
  SandboxView,
  ScopedKeyVerb,
  SecretView,
  SessionLoginResult,
  TemplateSpec,
  TemplateView,
  UserInfo,
  CpuUsage,
  MemoryUsage,
  PidsUsage,
  SandboxEvent,
  SandboxUsage,
  StorageUsage,
} from '@agenttier/contract';
export { DEFAULT_API_URL, DEFAULT_TIMEOUT_MS, type AgentTierOpts } from './options.ts';
export { SDK_VERSION } from './version.ts';
