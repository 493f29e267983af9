import type { AgentConfigView } from '@agenttier/sdk';
import { looksBinary } from './file-kinds.ts';
import { joinArgs } from './split-args.ts';

/** The largest configured file put back into the form: the configure body carries it as text. */
export const MAX_PREFILL_FILE_BYTES = 256 * 1024;

export interface ConfigureFileRow {
  id: number;
  path: string;
  content: string;
}

export interface ConfigureFormValues {
  files: ConfigureFileRow[];
  install: string;
  entrypoint: string;
  /** What could not be put back, and why (shown under the form). */
  notes: string[];
}

/**
 * The Configure form as the last successful configure left it (`GET …/agent/config`): the commands
 * as text that splits back to the same argv, and each file's current contents read from the
 * sandbox. A file that is gone, binary or too large stays out of the form with a note: sending it
 * back empty would overwrite it. Undefined when nothing was configured yet (the form keeps its
 * starter values).
 */
export async function prefillConfigureForm(
  config: AgentConfigView,
  read: (path: string) => Promise<Uint8Array>,
): Promise<ConfigureFormValues | undefined> {
  if (!config.configured) return undefined;
  const notes: string[] = [];
  const files: ConfigureFileRow[] = [];
  for (const f of config.files) {
    if (f.sizeBytes > MAX_PREFILL_FILE_BYTES) {
      notes.push(
        `${f.path} (${f.sizeBytes} bytes) is too large to edit here; it stays as it is in the sandbox.`,
      );
      continue;
    }
    try {
      const bytes = await read(f.path);
      if (looksBinary(bytes)) {
        notes.push(`${f.path} is binary; it stays as it is in the sandbox.`);
        continue;
      }
      files.push({ id: files.length + 1, path: f.path, content: new TextDecoder().decode(bytes) });
    } catch (err) {
      notes.push(
        `${f.path} could not be read (${(err as Error).message}); add it again if it is still needed.`,
      );
    }
  }
  return {
    files,
    install: joinArgs(config.installCommand),
    entrypoint: joinArgs(config.entrypoint),
    notes,
  };
}
