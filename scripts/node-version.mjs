// Which Node.js each path of the project needs, in one place: the CLI, the tests, the browser host and the app's
// build run on 20.19 (vite's floor); packaging installers needs 22.12 (Electron's own tools, which
// electron-builder runs, declare it). A path that needs more than it has stops with one line.

export const NODE_FOR_PACKAGING = '22.12.0';

/** null when `version` (e.g. process.versions.node) is at least `minimum`; else the sentence to stop with. */
export function nodeTooOld(version, minimum, what) {
  const parse = (v) => v.replace(/^v/, '').split('.').map((n) => Number.parseInt(n, 10) || 0);
  const [a, b] = [parse(version), parse(minimum)];
  for (let i = 0; i < 3; i++) {
    if ((a[i] ?? 0) > (b[i] ?? 0)) return null;
    if ((a[i] ?? 0) < (b[i] ?? 0)) {
      return `${what} needs Node.js ${minimum} or newer; this is Node.js ${version.replace(/^v/, '')}. The CLI, the tests and \`npm run serve\` run on 20.19 and newer.`;
    }
  }
  return null;
}
