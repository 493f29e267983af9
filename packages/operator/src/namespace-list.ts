/** `a,b` into namespace names (undefined when unset or empty: every namespace). */
export function namespaceList(text: string | undefined): string[] | undefined {
  const out = (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return out.length ? out : undefined;
}
