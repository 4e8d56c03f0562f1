export const FUSE_SENTINEL: Buffer;
export const FUSE_NAMES: readonly string[];
export interface FuseWire {
  version: number;
  length: number;
  fuses: Record<string, boolean | string>;
}
export function readFuseWires(bytes: Buffer): FuseWire[];
export function fuseProblems(bytes: Buffer, expected: Record<string, unknown>): string[];
export function findPackagedBinaries(distDir: string): Promise<string[]>;
export function configuredFuses(projectDir: string): Promise<Record<string, unknown>>;
export function verifyPackagedFuses(projectDir: string, distDir?: string): Promise<{ checked: string[]; problems: string[] }>;
