// Which Host headers the browser host answers: the names it can be reached by and no other. A DNS-rebinding page
// (evil.example, its name now resolving to this machine) sends Host: evil.example and is refused, however the host
// was bound.

import os from 'node:os';

export interface HostNameSources {
  /** What --host said (a name or an address). */
  bindHost: string;
  /** The address actually bound (0.0.0.0 or :: for every interface). */
  boundAddress: string;
  /** Further names the user allows (--allow-host): a DNS name the machine is reached by, say. */
  extra?: readonly string[];
  /** This machine's addresses and name, for a host bound to every interface; default the OS's. */
  interfaces?: () => readonly string[];
  hostname?: () => string;
}

/** The host names (as URL.hostname spells them: lower case, IPv6 in brackets) a request may carry. */
export function allowedHostNames(sources: HostNameSources): Set<string> {
  const names = new Set<string>();
  const add = (name: string): void => {
    const normal = hostnameOf(name.includes(':') && !name.startsWith('[') ? `[${name}]` : name);
    if (normal) names.add(normal);
  };
  // This machine's own loopback names: only this machine can send them.
  for (const name of ['localhost', '127.0.0.1', '::1', sources.bindHost, sources.boundAddress, ...(sources.extra ?? [])]) add(name);
  if (sources.boundAddress === '0.0.0.0' || sources.boundAddress === '::') {
    // Every interface: the machine's addresses and its name (and the .local name mDNS gives it).
    for (const address of (sources.interfaces ?? interfaceAddresses)()) add(address);
    const hostname = (sources.hostname ?? os.hostname)();
    add(hostname);
    if (!hostname.includes('.')) add(`${hostname}.local`);
  }
  return names;
}

/** Whether a request's Host header names an allowed host and this port (absent: refused). */
export function hostHeaderAllowed(header: string | undefined, allowed: ReadonlySet<string>, port: number): boolean {
  if (!header || /[@/\\?#\s]/.test(header)) return false;
  let url: URL;
  try {
    url = new URL(`http://${header}`);
  } catch {
    return false;
  }
  const headerPort = url.port === '' ? 80 : Number(url.port);
  return headerPort === port && allowed.has(url.hostname.replace(/\.$/, ''));
}

/** A name or address as URL.hostname spells it, or null when it is not one. */
function hostnameOf(name: string): string | null {
  try {
    return new URL(`http://${name}`).hostname.replace(/\.$/, '') || null;
  } catch {
    return null;
  }
}

function interfaceAddresses(): string[] {
  return Object.values(os.networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => entry.address));
}
