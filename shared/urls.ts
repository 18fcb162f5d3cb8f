/** URLs as they may be shown or stored: a signed URL's query string is a secret. */

/** `https://host/path?sig=…` → `https://host/path`; anything that is not an http(s) URL is returned as is. */
export function withoutQuery(uri: string): string {
  if (!/^https?:\/\//i.test(uri)) return uri;
  try {
    const url = new URL(uri);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return uri.replace(/[?#].*$/, '');
  }
}
