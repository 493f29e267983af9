/** Kubernetes resource quantities ("500m", "2", "1Gi", "512Mi", "10G") parsed into numbers. */
const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50 };
const DECIMAL: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15 };
export const QUANTITY_RE = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/;

/** CPU quantity to millicores ("500m" → 500, "2" → 2000, "0.5" → 500). */
export function parseCpuMillis(text: string): number | undefined {
  const m = QUANTITY_RE.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (m[2] === 'm') return Math.round(n);
  if (m[2] === undefined) return Math.round(n * 1000);
  return undefined;
}

/** Byte quantity to bytes ("512Mi", "1G", "1048576"). */
export function parseBytes(text: string): number | undefined {
  const m = QUANTITY_RE.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2];
  if (unit === undefined) return Math.round(n);
  if (unit === 'm') return undefined;
  const factor = BINARY[unit] ?? DECIMAL[unit];
  return factor === undefined ? undefined : Math.round(n * factor);
}
