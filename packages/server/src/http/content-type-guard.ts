/**
 * Content types a page on any site may send without a CORS preflight (the Fetch standard's
 * "CORS-safelisted" request content types). The API refuses them on POST (the only state-changing method a
 * page may send cross-site without a preflight) with 415,
 * so a cross-site `<form>` or `fetch(…, {mode: 'no-cors'})` can never reach a handler, even from a
 * browser that leaves Origin out. JSON endpoints want `application/json`; raw-body endpoints (file
 * upload, invoke stdin) `application/octet-stream`; both force a preflight on a cross-origin page.
 */
export const SIMPLE_CONTENT_TYPES = new Set([
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
]);

/** The media type without parameters, lower-case (`Text/Plain; charset=utf-8` → `text/plain`). */
export function mediaTypeOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return header.split(';')[0]!.trim().toLowerCase();
}

/** Whether a Content-Type header is one a cross-site page can send without a preflight. */
export function isSimpleContentType(header: string | undefined): boolean {
  const type = mediaTypeOf(header);
  return type !== undefined && SIMPLE_CONTENT_TYPES.has(type);
}
