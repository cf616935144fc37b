import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { encodePng } from '../../src/imaging';
import { grayPattern } from '../imaging/test-encoders';

/** Creates a temporary folder and returns it with a cleanup function. */
export function createTemporaryFolder(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `whorl-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Encodes a small valid PNG whose content differs with `variant`. */
export function samplePng(variant = 0, widthPx = 40, heightPx = 30): Uint8Array {
  const pixels = grayPattern(widthPx, heightPx).map((value) => (value + variant * 17) % 256);
  return encodePng({ widthPx, heightPx, pixels });
}

/** Writes files given as relative path → bytes (or text) under root. */
export function writeFiles(root: string, files: Record<string, Uint8Array | string>): void {
  for (const [path, body] of Object.entries(files)) {
    const target = join(root, ...path.split('/'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, body);
  }
}
