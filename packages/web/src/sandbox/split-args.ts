/**
 * Turns what a person types for a command into argv, the way a POSIX shell splits words: spaces
 * separate, '…' keeps everything literally, "…" keeps spaces (with \" and \\ escapes), a backslash
 * outside quotes escapes the next character. No expansion: the server runs argv without a shell.
 */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) word += text[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unbalanced ${quote} quote: close it or remove it`);
  if (inWord) out.push(word);
  return out;
}

/** argv back to text that `splitArgs` reads as the same argv. */
export function joinArgs(argv: readonly string[]): string {
  return argv
    .map((a) => (a !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}
