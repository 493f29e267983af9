// Test support for the HTTP app: requests no ordinary client sends (any Host, raw bytes).
export { hostOf, requestWithHost } from './host-request.ts';
export type { HostResponse } from './host-request.ts';
export { rawRequest } from './raw-http.ts';
export type { RawResponse } from './raw-http.ts';
export { zipEntries } from './zip.ts';
