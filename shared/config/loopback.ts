/** Whether a host:port is reachable only from this machine (127.0.0.0/8, ::1, localhost). */

/** The host part of `host:port` (`[::1]:50051` → `::1`). */
export function hostOf(address: string): string {
  const host = address.slice(0, address.lastIndexOf(':'));
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * True for loopback addresses only. Any other name counts as reachable from elsewhere, whatever it
 * resolves to today: `0.0.0.0`, `::`, a host name, an interface's address.
 */
export function isLoopbackAddress(address: string): boolean {
  const host = hostOf(address).toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
