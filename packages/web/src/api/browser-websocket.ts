/**
 * The SDK opens WebSockets as `new WebSocket(url, { headers })` (Node's and the `ws` package's
 * signature). A browser's constructor takes sub-protocols there instead and cannot send headers at
 * all: it sends the session cookie by itself, and the router checks the page's Origin.
 */
export function browserWebSocketClass(): new (url: string, init?: unknown) => WebSocket {
  return class BrowserWebSocket extends WebSocket {
    constructor(url: string, _init?: unknown) {
      super(url);
    }
  };
}
