// Which Node.js each path needs (scripts/node-version.mjs): 20.19 for the CLI, tests and browser host, 22.12 for
// packaging. A path that needs a newer Node stops with one line, not a stack.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE_FOR_PACKAGING, nodeTooOld } from '../../scripts/node-version.mjs';
import { REPO_ROOT } from '../helpers/shared-data.js';

describe('Node.js versions', () => {
  it('compares versions part by part', () => {
    expect(nodeTooOld('22.12.0', '22.12.0', 'x')).toBeNull();
    expect(nodeTooOld('v24.1.0', '22.12.0', 'x')).toBeNull();
    expect(nodeTooOld('22.9.0', '22.12.0', 'Packaging')).toBe(
      'Packaging needs Node.js 22.12.0 or newer; this is Node.js 22.9.0. The CLI, the tests and `npm run serve` run on 20.19 and newer.',
    );
    expect(nodeTooOld('20.20.2', '22.12.0', 'x')).toMatch(/^x needs Node.js 22\.12\.0/);
  });

  it('package.json states what the CLI and the tests need (vite\'s range: 20.19, or 22.12 and newer)', () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
    expect(pkg.engines.node).toBe('^20.19.0 || >=22.12.0');
  });

  it.skipIf(nodeTooOld(process.versions.node, NODE_FOR_PACKAGING, 'x') === null)('npm run dist on an older Node stops with a line saying so', () => {
    const result = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'dist.mjs')], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    // Its own line; a missing Electron binary would add one of its own after it.
    expect(result.stderr).toMatch(/^dist: Packaging installers \(electron-builder\) needs Node\.js 22\.12\.0 or newer; this is Node\.js [\d.]+\. [^\n]+\n(dist: [^\n]+\n)?$/);
  });
});
