export type ElectronBinary = { path: string; distDir?: string } | { path: null; reason: string };
export function findElectronBinary(projectDir?: string): ElectronBinary;
