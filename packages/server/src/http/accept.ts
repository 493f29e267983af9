/**
 * Whether a request's `Accept` header prefers JSON over plain text: `application/json` listed with a
 * quality above 0 and at least that of `text/plain` (or `text/*`). The any-type wildcard alone, or no header, is not
 * a request for JSON: probes (kubelet, curl, load balancers) keep getting the plain `ok` they expect.
 */
export function prefersJson(accept: string | undefined): boolean {
  if (!accept) return false;
  let json = 0;
  let text = 0;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q)) continue;
    if (type === 'application/json') json = Math.max(json, q);
    else if (type === 'text/plain' || type === 'text/*') text = Math.max(text, q);
  }
  return json > 0 && json >= text;
}
