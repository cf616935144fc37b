import { strict as assert } from 'node:assert';
import { rmSync, writeFileSync } from 'node:fs';
import { ESLint } from 'eslint';

/**
 * Writes `code` to a fixture file at `filePath`, lints it and returns the rule
 * ids that fired. Type-aware rules need a real file inside the TypeScript project.
 */
async function firedRules(code: string, filePath: string): Promise<string[]> {
  writeFileSync(filePath, code);
  try {
    const eslint = new ESLint({ cwd: process.cwd() });
    const [result] = await eslint.lintFiles([filePath]);
    return result.messages.map((message) => message.ruleId ?? message.message);
  } finally {
    rmSync(filePath, { force: true });
  }
}

describe('workflow lint rules', function () {
  this.timeout(60_000);

  it('reject a Node built-in in a workflow file', async () => {
    const rules = await firedRules(`import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n`, 'workflows/lint-fixture-fs.ts');
    assert.ok(rules.includes('no-restricted-imports'), rules.join(', '));
  });

  it('reject a value import from src in a workflow file', async () => {
    const rules = await firedRules(`import { createStore } from '../src/storage';\nexport const x = createStore;\n`, 'workflows/lint-fixture-src.ts');
    assert.ok(rules.includes('no-restricted-imports'), rules.join(', '));
  });

  it('allow a type-only import from activities', async () => {
    const rules = await firedRules(`import type { Activities } from '../activities';\nexport type X = Activities;\n`, 'workflows/lint-fixture-types.ts');
    assert.deepEqual(rules, []);
  });

  it('reject a floating promise anywhere', async () => {
    const rules = await firedRules(`async function f(): Promise<void> {}\nexport function g(): void { f(); }\n`, 'src/lint-fixture-floating.ts');
    assert.ok(rules.includes('@typescript-eslint/no-floating-promises'), rules.join(', '));
  });
});
