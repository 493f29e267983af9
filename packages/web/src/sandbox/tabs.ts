import type { SandboxView } from '@agenttier/sdk';
import type { ComponentType, LazyExoticComponent } from 'react';
import { lazy } from 'react';

/**
 * The sandbox page's tabs: one entry each, its component loaded when the tab is first opened (the
 * terminal and editors stay out of the initial bundle). The "webtabs" engineer owns this folder
 * and adds terminal, files, processes, ports, agent and settings here.
 */
export interface SandboxTabProps {
  sandbox: SandboxView;
}

export interface SandboxTab {
  /** URL segment: /sandboxes/:namespace/:name/<id>. */
  id: string;
  label: string;
  component: LazyExoticComponent<ComponentType<SandboxTabProps>>;
  /** Shown only when true (e.g. agent mode only). @default always */
  visible?: (sandbox: SandboxView) => boolean;
}

export const SANDBOX_TABS: SandboxTab[] = [
  { id: 'overview', label: 'Overview', component: lazy(() => import('./OverviewTab.tsx')) },
  { id: 'terminal', label: 'Terminal', component: lazy(() => import('./TerminalTab.tsx')) },
  { id: 'files', label: 'Files', component: lazy(() => import('./FilesTab.tsx')) },
  { id: 'processes', label: 'Processes', component: lazy(() => import('./ProcessesTab.tsx')) },
  { id: 'ports', label: 'Ports', component: lazy(() => import('./PortsTab.tsx')) },
  {
    id: 'agent',
    label: 'Agent',
    component: lazy(() => import('./AgentTab.tsx')),
    visible: (s) => s.mode === 'agent',
  },
  { id: 'settings', label: 'Settings', component: lazy(() => import('./SettingsTab.tsx')) },
  { id: 'events', label: 'Events', component: lazy(() => import('./EventsTab.tsx')) },
  { id: 'activity', label: 'Activity', component: lazy(() => import('./ActivityTab.tsx')) },
];
