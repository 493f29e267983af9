export {
  codeForStatus,
  ERROR_HINTS,
  ERROR_STATUS,
  isErrorCode,
  isPlatformError,
  PlatformError,
  RETRYABLE_CODES,
  retryHint,
} from './errors.ts';
export type { ErrorBody, ErrorCode, FieldIssue } from './errors.ts';
export { formatDurationMs, parseDurationMs } from './duration.ts';
export { parseBytes, parseCpuMillis } from './quantity.ts';
export {
  ACCESS_MODES,
  annotationsSchema,
  API_GROUP,
  API_VERSION,
  bytesSchema,
  cpuSchema,
  credentialRefSchema,
  credentialShapeProblem,
  credentialsSchema,
  ENV_NAME_RE,
  DEFAULT_NAMESPACE,
  durationSchema,
  forwardedPortSchema,
  KINDS,
  LABEL_MANAGED,
  LABEL_NAMESPACE,
  LABEL_SANDBOX,
  LABEL_SANDBOX_UID,
  LABEL_TEMPLATE,
  labelsSchema,
  memorySchema,
  mountPathSchema,
  NAME_RE,
  nameSchema,
  PHASES,
  SANDBOX_FINALIZER,
  sandboxSpecSchema,
  sandboxStatusSchema,
  secretNameSchema,
  templateKindSchema,
  templateSpecSchema,
} from './resources.ts';
export type {
  AgentConfigureStatus,
  Condition,
  CredentialRef,
  EnvVar,
  ForwardedPort,
  Resource,
  ResourceKind,
  ResourcesSpec,
  Sandbox,
  SandboxMode,
  SandboxPhase,
  SandboxSpec,
  SandboxStatus,
  SandboxTemplate,
  TemplateRef,
  TemplateSpec,
} from './resources.ts';
export {
  createSandboxRequestSchema,
  execRequestSchema,
  MAX_EXEC_TIMEOUT_SECONDS,
  MAX_FILE_BYTES,
  parseExactOrThrow,
  parseOrThrow,
  patchNullAllowed,
  patchSandboxRequestSchema,
  templateWriteRequestSchema,
  toFieldIssues,
} from './api.ts';
export {
  annotationsPatchSchema,
  applyStringMapPatch,
  labelsPatchSchema,
  refuseMisplacedNulls,
} from './merge-patch.ts';
export type {
  AgentConfigView,
  CreateSandboxRequest,
  ExecResponse,
  FileEntry,
  PatchSandboxRequest,
  SandboxView,
} from './api.ts';
export {
  CLEAN_ABSOLUTE_PATH_PATTERN,
  LIMITS,
  MOUNT_PATH_DENY,
  mountPathCelRule,
  mountPathProblem,
} from './limits.ts';
export { openApiDocument } from './openapi.ts';
export {
  execResponseSchema,
  patchSandboxResponseSchema,
  portListSchema,
  portViewSchema,
  previewLinkSchema,
  processInfoSchema,
  processListSchema,
  sandboxListSchema,
  sandboxViewSchema,
  stopResumeResponseSchema,
  templateListSchema,
  templateViewSchema,
} from './responses.ts';
export type { ApiOperation } from './openapi.ts';
export type {
  AuditEvent,
  AuditEventPage,
  AuthMethods,
  PreviewLink,
  InvokeReason,
  InvokeRecord,
  PortView,
  ProcessInfo,
  TemplateView,
  TerminalClientFrame,
  TerminalCloseReason,
  TerminalServerFrame,
} from './wire.ts';
export {
  createApiKeyRequestSchema,
  MAX_CREDENTIAL_BYTES,
  SCOPED_KEY_VERBS,
  SESSION_BINDING_HEADER,
  SESSION_BINDING_RE,
  SESSION_BINDING_WS_PREFIX,
  SESSION_BINDING_WS_PROTOCOL,
  sessionLoginRequestSchema,
  shareSandboxRequestSchema,
  userIdSchema,
} from './auth.ts';
export type {
  ApiKeyView,
  CreateApiKeyRequest,
  CreatedApiKey,
  KeyScopeView,
  SandboxAccessLevel,
  SandboxRole,
  SandboxShareView,
  ScopedKeyVerb,
  SessionLoginRequest,
  UserInfo,
} from './auth.ts';
export { mapSeedSandboxFields } from './seed-fields.ts';
export {
  configureRequestSchema,
  invokeCancelRequestSchema,
  MAX_CONFIGURE_FILE_BYTES,
  MAX_CONFIGURE_FILES,
  MAX_CONFIGURE_TOTAL_BYTES,
  mkdirRequestSchema,
  previewLinkRequestSchema,
  renameRequestSchema,
  signalRequestSchema,
  startProcessRequestSchema,
} from './sandbox-requests.ts';
export type { ConfigureRequest } from './sandbox-requests.ts';
export {
  cpuUsageSchema,
  EVENT_TYPES,
  MAX_EVENT_MESSAGE_CHARS,
  measuredUsageSchema,
  memoryUsageSchema,
  pidsUsageSchema,
  storageUsageSchema,
  USAGE_SECTIONS,
} from './observability.ts';
export type {
  CpuUsage,
  MeasuredUsage,
  MemoryUsage,
  PidsUsage,
  SandboxEvent,
  SandboxEventList,
  SandboxEventType,
  SandboxUsage,
  StorageUsage,
  UsageSection,
} from './observability.ts';
export { SECRET_KEY_RE, secretKeySchema, secretWriteRequestSchema } from './secrets.ts';
export type { SecretView, SecretWriteRequest } from './secrets.ts';
