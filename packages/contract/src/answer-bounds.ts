import { z } from 'zod';

/**
 * Bounds on what a daemon inside a sandbox may report. The router parses sandboxd's answers with the
 * response schemas built from these (docs/security.md, "Daemon answers parsed, not passed through"),
 * so a replaced daemon can answer only values of the documented shape and size.
 */

/** Counts, sizes and offsets: whole, never negative, at most 2^53. */
export const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** Linux's PATH_MAX: the longest path a system call takes. */
export const PATH_MAX = 4096;
/** An RFC 3339 time (with room for nanoseconds and an offset). */
export const timestamp = z.string().max(64);
