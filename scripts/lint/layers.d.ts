// Types of layers.js (plain JavaScript so eslint.config.js can load it without a TypeScript loader).
export declare const LAYERS: Record<string, { uses: string[]; testUses?: string[]; role: string }>;
export declare const SCOPE: '@agenttier/';
export declare const TEST_SUPPORT: RegExp[];
export declare const TEST_RUNNERS: RegExp[];
export declare function isTestSupport(relativePath: string): boolean;
