// Integration-test support: a real local platform in-process (temp data dir, port 0) and engine cleanup.
export {
  api,
  dockerHost,
  execIn,
  removeDir,
  removeEngineObjects,
  startTestPlatform,
  stopTestPlatform,
  testNamespace,
  waitForPhase,
} from './platform.ts';
export type { TestPlatform, TestPlatformOpts } from './platform.ts';
export { untilServedBySandboxd, useLocalPlatform } from './local-test-bed.ts';
export { codeTemplate, probeEngine } from './engine.ts';
export type { CodeTemplateOpts, EngineFeatures } from './engine.ts';
export { startServerProcess, useServerProcesses } from './server-process.ts';
export type { ServerProcess, ServerProcessBed, ServerProcessOpts } from './server-process.ts';
export type { LocalTestBed, LocalTestBedOpts } from './local-test-bed.ts';
export { collectSse, readSse } from './sse.ts';
export type { SseRecord } from './sse.ts';
export { openTerminal } from './terminal.ts';
export type { TerminalClient } from './terminal.ts';
export { WS_ECHO_SERVER_JS } from './ws-echo.ts';
