import { SandboxdError } from '../errors.ts';

/** The SandboxdError `p` rejects with; anything else (a success or another error) fails the test. */
export async function sandboxdErrorOf(p: Promise<unknown>): Promise<SandboxdError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SandboxdError) return err;
    throw err;
  }
  throw new Error('expected a SandboxdError');
}
