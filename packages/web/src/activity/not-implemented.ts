import { AgentTierError } from '@agenttier/sdk';

/** The server answered 501 NOT_IMPLEMENTED (a feature it was started without). */
export const NotImplementedError = {
  is(err: unknown): boolean {
    return err instanceof AgentTierError && err.code === 'NOT_IMPLEMENTED';
  },
};
