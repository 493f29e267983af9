/** The router's version, as `GET /healthz` reports it to clients asking for JSON (kept equal to package.json by a test). */
export const SERVER_VERSION = '0.1.0';
