export const NODE_FOR_PACKAGING: string;
export function nodeTooOld(version: string, minimum: string, what: string): string | null;
