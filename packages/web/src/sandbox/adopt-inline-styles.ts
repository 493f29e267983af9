/**
 * The page's Content-Security-Policy allows styles from the router only (`style-src 'self'`), so the
 * `<style>` elements xterm.js writes its theme and cell sizes into are not applied. Constructed
 * stylesheets are not inline markup and CSP does not block them: this mirrors the text of every
 * `<style>` element under `root` into one adopted sheet, kept in step as xterm rewrites them.
 * Returns the function that removes the sheet.
 */
export function adoptInlineStyles(root: HTMLElement): () => void {
  const doc = root.ownerDocument;
  if (typeof CSSStyleSheet === 'undefined' || !('adoptedStyleSheets' in doc)) return () => {};
  const sheet = new CSSStyleSheet();
  doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
  let last = '';
  const sync = (): void => {
    const text = [...root.querySelectorAll('style')].map((s) => s.textContent ?? '').join('\n');
    if (text === last) return;
    last = text;
    try {
      sheet.replaceSync(text);
    } catch {
      // a half-written rule: the next mutation brings the whole text
    }
  };
  const observer = new MutationObserver(sync);
  observer.observe(root, { childList: true, subtree: true, characterData: true });
  sync();
  return () => {
    observer.disconnect();
    doc.adoptedStyleSheets = doc.adoptedStyleSheets.filter((s) => s !== sheet);
  };
}
