/** URLs as they may be shown or stored (a signed URL's query string is a secret), and which sources are remote. */

/** Whether `uri` is read over the network (an http(s) URL); local paths and file:// URLs are not. */
export function isHttpUrl(uri: string): boolean {
  return /^https?:\/\//i.test(uri);
}

/** `https://host/path?sig=…` → `https://host/path`; anything that is not an http(s) URL is returned as is. */
export function withoutQuery(uri: string): string {
  if (!isHttpUrl(uri)) return uri;
  try {
    const url = new URL(uri);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return uri.replace(/[?#].*$/, '');
  }
}
