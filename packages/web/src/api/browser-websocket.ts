import { SESSION_BINDING_WS_PREFIX, SESSION_BINDING_WS_PROTOCOL } from '@agenttier/contract';
import { currentBinding } from './session-binding.ts';

/**
 * The SDK opens WebSockets as `new WebSocket(url, { headers })` (Node's and the `ws` package's
 * signature). A browser's constructor takes sub-protocols there instead and cannot send headers at
 * all: it sends the session cookie by itself, the router checks the page's Origin, and the session
 * binding goes as a second subprotocol (`agenttier.binding.<value>`; the router answers `agenttier`).
 */
export function browserWebSocketClass(): new (url: string, init?: unknown) => WebSocket {
  return class BrowserWebSocket extends WebSocket {
    constructor(url: string, _init?: unknown) {
      const binding = currentBinding();
      super(url, binding ? [SESSION_BINDING_WS_PROTOCOL, `${SESSION_BINDING_WS_PREFIX}${binding}`] : []);
    }
  };
}
