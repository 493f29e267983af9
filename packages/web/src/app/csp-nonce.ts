/**
 * The page's style nonce: the router writes a fresh one into `<meta name="csp-nonce">` and its
 * Content-Security-Policy on every load. Libraries that create `<style>` elements need it
 * (CodeMirror: `EditorView.cspNonce`; xterm.js and others: set `nonce` on the element).
 * Empty when the page was not served by the router (the Vite dev server).
 */
export function cspNonce(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]')?.content ?? '';
}
