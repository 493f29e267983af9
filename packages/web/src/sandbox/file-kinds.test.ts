import { describe, expect, it } from 'vitest';
import { editRefusal, languageFor, looksBinary, MAX_EDIT_BYTES } from './file-kinds.ts';

describe('file kinds', () => {
  it('opens text up to the cap and says why a larger file does not open', () => {
    expect(editRefusal(MAX_EDIT_BYTES)).toBeUndefined();
    expect(editRefusal(5 * 1024 * 1024)).toBe(
      'This file is 5.0 MiB; the editor opens files up to 1 MiB. Download it to view or change it, or edit it in the terminal.',
    );
  });

  it('calls NUL bytes or invalid UTF-8 binary, and text with a character cut at 8 KiB text', () => {
    const enc = new TextEncoder();
    expect(looksBinary(enc.encode('print("hé")\n'))).toBe(false);
    expect(looksBinary(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00]))).toBe(true);
    expect(looksBinary(new Uint8Array([0xff, 0xfe, 0x41]))).toBe(true);
    // 8191 ASCII bytes then "é" (2 bytes): the 8 KiB window cuts the character in half.
    const cut = enc.encode(`${'a'.repeat(8191)}é and more`);
    expect(looksBinary(cut)).toBe(false);
  });

  it('picks the language mode by extension', () => {
    expect(languageFor('/workspace/a.py')).toBe('python');
    expect(languageFor('/workspace/x.test.TS')).toBe('typescript');
    expect(languageFor('/workspace/cfg.yml')).toBe('yaml');
    expect(languageFor('/workspace/Makefile')).toBe('plain');
  });
});
