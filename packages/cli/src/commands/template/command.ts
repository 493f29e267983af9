import type { CommandSpec } from '../../spec.ts';

export const templateCommand = {
  name: 'template',
  aliases: ['templates', 'tpl'],
  description: 'List, inspect and manage sandbox templates',
  examples: [
    { description: 'See what you can create sandboxes from', command: 'agenttier template list' },
    {
      description: 'Create or update templates from a file',
      command: 'agenttier template apply -f templates.yaml',
    },
  ],
  subcommands: [
    {
      name: 'list',
      aliases: ['ls'],
      description: 'List templates (cluster templates, plus namespaced ones with -n)',
      examples: [
        { description: 'All cluster templates', command: 'agenttier template list' },
        { description: 'As JSON, with full specs', command: 'agenttier template list -o json' },
      ],
    },
    {
      name: 'get',
      description: 'Show one template and its spec',
      arguments: [{ name: 'name', description: 'template name', required: true }],
      options: [{ flags: '--namespaced', description: 'a namespaced SandboxTemplate (in -n NAMESPACE)' }],
      examples: [
        { description: 'Show a template', command: 'agenttier template get general-coding' },
        {
          description: 'Export it as a file you can edit and apply',
          command: 'agenttier template get general-coding -o yaml > mine.yaml',
        },
      ],
    },
    {
      name: 'apply',
      description: 'Create or update templates from a YAML or JSON file (one or many documents)',
      options: [
        { flags: '-f, --filename <file>', description: 'file to read, or - for stdin', required: true },
        { flags: '--dry-run', description: 'validate the file without sending anything' },
      ],
      examples: [
        { description: 'Apply a manifest', command: 'agenttier template apply -f python.yaml' },
        { description: 'From stdin', command: 'cat templates.yaml | agenttier template apply -f -' },
        {
          description: 'Check a file without applying it',
          command: 'agenttier template apply -f python.yaml --dry-run',
        },
      ],
    },
    {
      name: 'delete',
      aliases: ['rm'],
      description: 'Delete templates (refused while sandboxes use them)',
      arguments: [{ name: 'names', description: 'template names', required: true, variadic: true }],
      options: [{ flags: '--namespaced', description: 'namespaced SandboxTemplates (in -n NAMESPACE)' }],
      examples: [{ description: 'Delete a template', command: 'agenttier template delete python' }],
    },
  ],
} as const satisfies CommandSpec;
