import type { CommandSpec } from '../../spec.ts';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

const kubeconfigOption = {
  flags: '--kubeconfig <file>',
  description: 'kubeconfig to use (default: KUBECONFIG, ~/.kube/config, then the in-cluster service account)',
};
const logLevelOption = {
  flags: '--log-level <level>',
  description: 'level of the JSON log lines on stderr (default AGENTTIER_LOG_LEVEL or info)',
  choices: LOG_LEVELS,
};

export const controllerCommand = {
  name: 'controller',
  description:
    'Run the Kubernetes operator in the foreground (-n: install namespace, default agenttier): reconciles Sandboxes into Pods, claims, network policies and service accounts, leading through a Lease',
  options: [
    kubeconfigOption,
    {
      flags: '--host <host>',
      description: 'address of the /healthz, /readyz and /metrics endpoints',
      default: '127.0.0.1',
    },
    {
      flags: '--health-port <port>',
      description: '/healthz and /readyz port (0 picks one)',
      default: '8082',
    },
    { flags: '--metrics-port <port>', description: '/metrics port (0 picks one)', default: '8081' },
    {
      flags: '--injector-image <image>',
      description:
        'image that puts sandboxd into every sandbox pod (default AGENTTIER_INJECTOR_IMAGE or agenttier/sandboxd-injector:dev)',
    },
    {
      flags: '--sandbox-pod-security <level>',
      description:
        "baseline: a root first step keeps sandboxd out of the sandbox code's reach (the namespace must admit Pod Security baseline); restricted: uid 1000 throughout, weaker (default AGENTTIER_SANDBOX_POD_SECURITY or baseline)",
    },
    {
      flags: '--no-leader-elect',
      description: 'reconcile at once, without taking the Lease (one replica only)',
    },
    { flags: '--identity <name>', description: 'this replica in the Lease (default POD_NAME or host name)' },
    logLevelOption,
  ],
  examples: [
    {
      description: 'Against the cluster in ~/.kube/config, install namespace agenttier (Ctrl-C stops it)',
      command: 'agenttier controller',
    },
    {
      description: 'Another kubeconfig and install namespace, probes on every interface',
      command: 'agenttier controller --kubeconfig ./kind.yaml -n agenttier-dev --host 0.0.0.0',
    },
  ],
} as const satisfies CommandSpec;

export const routerCommand = {
  name: 'router',
  description:
    'Run the REST API on the Kubernetes store in the foreground (-n: install namespace, default agenttier); needs `agenttier controller` running',
  options: [
    kubeconfigOption,
    {
      flags: '--host <host>',
      description: 'address to listen on (loopback unless authentication is configured)',
      default: '127.0.0.1',
    },
    { flags: '-p, --port <port>', description: 'port to listen on (0 picks one)', default: '8080' },
    {
      flags: '--dev-auth',
      description:
        'every caller is an admin: only for a cluster nobody else reaches (without it every API call gets 401 until OIDC/API keys land)',
    },
    {
      flags: '--data-dir <dir>',
      description:
        'where agent-mode invoke records and install logs are kept (SQLite; default ~/.agenttier/router or AGENTTIER_DATA_DIR; in a cluster the router PVC at /var/lib/agenttier)',
    },
    logLevelOption,
  ],
  examples: [
    {
      description: 'A private test cluster on http://127.0.0.1:8080',
      command: 'agenttier router --dev-auth',
    },
    {
      description: 'Then use the CLI against it',
      command: 'AGENTTIER_API_URL=http://127.0.0.1:8080 agenttier sandbox list',
    },
  ],
} as const satisfies CommandSpec;

export const installCommand = {
  name: 'install',
  description:
    'Install AgentTier into a Kubernetes cluster (-n: install namespace, default agenttier): print the manifests (--render) or server-side apply them (--apply)',
  options: [
    { flags: '--render', description: 'print every manifest as YAML on stdout (-o json: a v1 List)' },
    { flags: '--apply', description: 'server-side apply them (field manager agenttier-install), CRDs first' },
    kubeconfigOption,
    { flags: '--image <image>', description: 'controller/router image', default: 'agenttier/controller:dev' },
    {
      flags: '--injector-image <image>',
      description: 'sandboxd injector image',
      default: 'agenttier/sandboxd-injector:dev',
    },
    {
      flags: '--sandbox-pod-security <level>',
      description:
        "how sandbox pods start: baseline (the sandbox namespaces must admit Pod Security baseline) or restricted (weaker: sandbox code shares sandboxd's uid)",
      default: 'baseline',
    },
    {
      flags: '--template-registry <prefix>',
      description: "prefix of the default templates' images (<prefix>/minimal-shell:<tag>)",
      default: 'agenttier',
    },
    { flags: '--template-tag <tag>', description: "tag of the default templates' images", default: 'dev' },
    {
      flags: '--gvisor',
      description: 'add a RuntimeClass gvisor (handler runsc) and use it in the default templates',
    },
    {
      flags: '--runtime-class <name=handler>',
      description: 'the same with another RuntimeClass, e.g. kata=kata-qemu',
    },
    {
      flags: '--dev-auth',
      description: 'router without authentication (every caller is admin): private test clusters only',
    },
    {
      flags: '--router-replicas <n>',
      description: 'router replicas (1 with router persistence: invoke records are on its own volume)',
      default: '1',
    },
    {
      flags: '--router-storage <size>',
      description: "size of the router's PersistentVolumeClaim (agent-mode invoke records)",
      default: '1Gi',
    },
    {
      flags: '--router-storage-class <name>',
      description: 'its StorageClass (default: the cluster default)',
    },
    {
      flags: '--no-router-persistence',
      description: 'an emptyDir instead of the claim: invoke records are lost whenever the router pod goes',
    },
    { flags: '--controller-replicas <n>', description: 'controller replicas (one leads)', default: '1' },
    { flags: '--no-crds', description: 'leave the CRDs out (they are installed separately)' },
    { flags: '--no-create-namespace', description: 'leave the Namespace out (it exists already)' },
    {
      flags: '--dry-run',
      description: 'with --apply: let the API server validate everything, persist nothing',
    },
    {
      flags: '--force-conflicts',
      description: 'with --apply: take over fields another manager (kubectl, Helm) set',
    },
  ],
  examples: [
    { description: 'Review the manifests', command: 'agenttier install --render > agenttier.yaml' },
    {
      description: 'Apply them to the current kubectl context, with your registry',
      command: 'agenttier install --apply --image registry.example.com/agenttier/controller:0.1.0',
    },
    {
      description: 'gVisor sandboxes, in namespace agenttier-dev',
      command: 'agenttier install --apply --gvisor -n agenttier-dev',
    },
  ],
} as const satisfies CommandSpec;
