// The client side of the live-assist WebSocket protocol (docs/protocol.md), plus the pure helpers
// the panel uses. Nothing here touches the DOM, so tests/js/ runs it under node.

export const PING_INTERVAL_MS = 25_000;
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 10_000;
// A connection that has answered nothing for this long is dead even if the browser still calls
// it open (a laptop waking from sleep, a proxy that dropped it); two missed pongs and a margin.
const STALE_AFTER_MS = 2 * PING_INTERVAL_MS + 10_000;
// The server closes with this code when a token is wrong; retrying cannot help.
export const CLOSE_UNAUTHORIZED = 4401;
// Error codes that mean "not now, send it again" (docs/protocol.md#errors): the server stored
// nothing and the same frame will succeed later. Every other error is final for its frame.
export const RETRIABLE_ERRORS = new Set(["unavailable", "rate_limited"]);

/** Whether an `error` frame asks for its frame to be sent again rather than failing it. */
export function isRetriable(frame) {
  return Boolean(frame?.client_id) && RETRIABLE_ERRORS.has(frame.code);
}

/** Delay before reconnect attempt `attempt` (0-based): 0.5 s doubling to 10 s, ±20 % jitter
 * so that a server restart is not met by every panel at the same instant. */
export function backoffDelay(attempt, random = Math.random) {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt));
  const jittered = base * (0.8 + 0.4 * random());
  return Math.round(Math.min(BACKOFF_MAX_MS, jittered));
}

/** Whether a `suggestions` body replaces the one shown for `conversationId` (whose seq is
 * `shownSeq`, or null when none is shown): same conversation and a strictly greater seq. */
export function acceptsSuggestions(conversationId, shownSeq, frame) {
  if (!frame || !Array.isArray(frame.items) || typeof frame.seq !== "number") return false;
  if (String(frame.conversation) !== String(conversationId)) return false;
  return shownSeq === null || shownSeq === undefined || frame.seq > shownSeq;
}

const PLACEHOLDER = /\[\[([^[\]]+)\]\]/g;

/** Splits a rendered body into text and unfilled `[[name]]` parts, for highlighting. */
export function splitPlaceholders(body) {
  const parts = [];
  let last = 0;
  for (const match of String(body ?? "").matchAll(PLACEHOLDER)) {
    if (match.index > last) parts.push({ text: body.slice(last, match.index), placeholder: false });
    parts.push({ text: match[0], placeholder: true, name: match[1] });
    last = match.index + match[0].length;
  }
  if (last < String(body ?? "").length) parts.push({ text: body.slice(last), placeholder: false });
  return parts;
}

/** "83%" for a calibrated probability; "" for search results, which have none. */
export function formatProbability(probability) {
  if (typeof probability !== "number" || Number.isNaN(probability)) return "";
  return `${Math.round(Math.max(0, Math.min(1, probability)) * 100)}%`;
}

// Frames kept in the outbox across a page load (AssistSocket's `storage`) are dropped after this
// long: the server refuses a pick older than a day anyway (MAX_TIME_TO_PICK_MS in
// assist/live/picks.py), and a tab left for days should not replay yesterday's clicks.
export const STORED_FRAME_MAX_AGE_MS = 24 * 3600 * 1000;
const STORED_FRAME_PREFIX = "assist-outbox:";

export function newClientId() {
  return crypto.randomUUID();
}

/** `ws(s)://host/path` for a path on the page's own origin. */
export function socketUrl(path, location = globalThis.location) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

/**
 * One agent's socket. Listeners get server frames by their `type` (`ready`, `state`,
 * `suggestions`, `ack`, `status`, `error`, ...) and the connection's state as `connection`
 * ({state: "connecting" | "open" | "closed", attempt, final}); `status` is taken by the server's
 * frame of that name.
 *
 * Frames with a `client_id` stay in an outbox until their `ack` (or a final `error`) and are
 * sent again after every reconnect: the server stores a client_id once, so resending is safe,
 * and a frame that was in flight when the connection dropped is not lost. A retriable error
 * (`unavailable`, `rate_limited`) keeps the frame and sends it again after a backoff that grows
 * with each refusal of it (backoffDelay), until it is acknowledged. Frames without one
 * (`search`) are queued only while disconnected. Subscriptions are renewed on every connection.
 *
 * With a `storage` (the page's sessionStorage), the outbox also outlives the page: a chat switch
 * or reload that replaces the page while a pick is unacknowledged would otherwise lose it. Each
 * frame is stored under its client_id with the user the server named in `ready`, and a later
 * socket in the same tab sends it again once `ready` names that same user (never another
 * agent's frames under this one's login). Frames are stored only once a `ready` has named the
 * user; frames older than STORED_FRAME_MAX_AGE_MS are dropped.
 */
export class AssistSocket {
  constructor(
    path,
    { token = null, WebSocketImpl = globalThis.WebSocket, location, storage = null, now = Date.now } = {},
  ) {
    this.url = socketUrl(path, location);
    this.token = token;
    this.user = null; // the username of the last `ready`
    this._storage = storage;
    this._now = now;
    this.state = "closed";
    this._WebSocket = WebSocketImpl;
    this._listeners = new Map();
    this._subscriptions = new Set();
    this._outbox = new Map(); // client_id -> frame, oldest first
    this._retries = new Map(); // client_id -> {attempt, timer} for frames refused "not now"
    this._queue = []; // frames without a client_id, sent while disconnected
    this._ws = null;
    this._attempt = 0;
    this._retryTimer = null;
    this._pingTimer = null;
    this._lastHeard = 0;
    this._stopped = true;
    this._awaitingAuth = false;
    this._flushOnReady = false;
  }

  on(type, fn) {
    if (!this._listeners.has(type)) this._listeners.set(type, new Set());
    this._listeners.get(type).add(fn);
    return () => this._listeners.get(type).delete(fn);
  }

  connect() {
    this._stopped = false;
    this._open();
  }

  /** Closes for good (no reconnect) until connect() is called again. */
  close() {
    this._stopped = true;
    clearTimeout(this._retryTimer);
    this._teardown();
    this._setState("closed", { final: true });
  }

  /** Skips the backoff wait, e.g. when the browser reports it is back online. */
  reconnectNow() {
    if (this._stopped || this.state === "open") return;
    clearTimeout(this._retryTimer);
    this._attempt = 0;
    this._teardown();
    this._open();
  }

  /** Authenticates with a token from now on (the embedding extension may hand one over late). */
  authenticate(token) {
    this.token = token;
    if (this.state === "open") {
      this._flushOnReady = true;
      this._transmit({ type: "auth", token });
    } else if (this.state === "closed") {
      this._stopped = false;
      this.reconnectNow();
    }
  }

  /** Subscribes once; the subscription is renewed on every connection. */
  subscribe(conversation) {
    if (this._subscriptions.has(conversation)) return;
    this._subscriptions.add(conversation);
    if (this._canSend) this._transmit({ type: "subscribe", conversation });
  }

  /** Asks again for a subscribed conversation's `state` (subscribing again answers with it). */
  refresh(conversation) {
    if (!this._subscriptions.has(conversation)) return this.subscribe(conversation);
    if (this._canSend) this._transmit({ type: "subscribe", conversation });
  }

  unsubscribe(conversation) {
    this._subscriptions.delete(conversation);
    if (this._canSend) this._transmit({ type: "unsubscribe", conversation });
  }

  /** Sends a frame now, or as soon as the connection is back (see the class comment). */
  send(frame) {
    if (frame.client_id) {
      this._outbox.set(frame.client_id, frame);
      this._store(frame);
    }
    if (this._canSend) {
      this._transmit(frame);
    } else if (!frame.client_id && frame.type !== "ping") {
      this._queue.push(frame);
    }
    return frame;
  }

  get _canSend() {
    return this.state === "open" && !this._awaitingAuth;
  }

  /** Number of frames not yet acknowledged or not yet sent. */
  get pendingCount() {
    return this._outbox.size + this._queue.length;
  }

  _open() {
    if (this._stopped) return;
    this._setState("connecting");
    let ws;
    try {
      ws = new this._WebSocket(this.url);
    } catch (error) {
      this._scheduleReconnect();
      return;
    }
    this._ws = ws;
    ws.onopen = () => this._onOpen(ws);
    ws.onmessage = (event) => this._onMessage(ws, event);
    ws.onclose = (event) => this._onClose(ws, event);
    ws.onerror = () => {}; // onclose follows and handles it
  }

  _onOpen(ws) {
    if (ws !== this._ws) return;
    this._attempt = 0;
    this._lastHeard = Date.now();
    this._setState("open");
    this._startPing();
    if (this.token) {
      // Until `ready` answers the auth frame every other frame would be refused.
      this._awaitingAuth = true;
      this._transmit({ type: "auth", token: this.token });
    } else {
      this._awaitingAuth = false;
      this._flush();
    }
  }

  _onMessage(ws, event) {
    if (ws !== this._ws) return;
    this._lastHeard = Date.now();
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    if (!frame || typeof frame.type !== "string") return;
    if (frame.type === "ready") {
      const restored = this._onReady(frame);
      if (this._awaitingAuth || this._flushOnReady) {
        this._awaitingAuth = false;
        this._flushOnReady = false;
        this._flush();
      } else {
        // Connected without a token: the outbox went out on open; what a page before this one
        // left unacknowledged goes now.
        for (const outgoing of restored) this._transmit(outgoing);
      }
    } else if (frame.type === "ack" && frame.client_id) {
      this._settle(frame.client_id);
    } else if (frame.type === "error") {
      if (frame.code === "unauthenticated") {
        // Keep the frame; it goes again once an auth succeeds and `ready` arrives.
        this._flushOnReady = true;
      } else if (isRetriable(frame)) {
        this._retryLater(frame.client_id);
      } else if (frame.client_id) {
        // "A frame that gets an error changes nothing": resending would get the same error.
        this._settle(frame.client_id);
      }
    }
    this._emit(frame.type, frame);
  }

  /** Learns the user from `ready`, stores what waited for that and takes back into the outbox
   * (oldest first) what an earlier page of this tab left unacknowledged for the same user.
   * Returns the frames taken back. */
  _onReady(frame) {
    this.user = typeof frame.user === "string" && frame.user ? frame.user : null;
    if (!this._storage || this.user === null) return [];
    for (const waiting of this._outbox.values()) this._store(waiting);
    const restored = [];
    for (const entry of this._storedEntries()) {
      if (entry.user !== this.user || this._outbox.has(entry.frame.client_id)) continue;
      restored.push(entry.frame);
    }
    if (restored.length) {
      this._outbox = new Map([
        ...restored.map((outgoing) => [outgoing.client_id, outgoing]),
        ...this._outbox,
      ]);
    }
    return restored;
  }

  /** Stored outbox entries, oldest first; drops expired and unreadable ones as it goes. */
  _storedEntries() {
    const entries = [];
    try {
      const keys = [];
      for (let i = 0; i < this._storage.length; i += 1) {
        const key = this._storage.key(i);
        if (key?.startsWith(STORED_FRAME_PREFIX)) keys.push(key);
      }
      for (const key of keys) {
        let entry = null;
        try {
          entry = JSON.parse(this._storage.getItem(key));
        } catch {
          // unreadable: dropped below
        }
        const fresh =
          entry?.frame?.client_id && this._now() - entry.savedAt <= STORED_FRAME_MAX_AGE_MS;
        if (fresh) entries.push(entry);
        else this._storage.removeItem(key);
      }
    } catch {
      return []; // storage refused (private mode, quota): the in-memory outbox still holds
    }
    return entries.sort((a, b) => a.savedAt - b.savedAt);
  }

  _store(frame) {
    if (!this._storage || this.user === null) return;
    const key = STORED_FRAME_PREFIX + frame.client_id;
    try {
      if (this._storage.getItem(key) !== null) return; // keeps its first savedAt
      this._storage.setItem(key, JSON.stringify({ user: this.user, savedAt: this._now(), frame }));
    } catch {
      // storage refused: the frame is still in the in-memory outbox
    }
  }

  _unstore(clientId) {
    if (!this._storage) return;
    try {
      this._storage.removeItem(STORED_FRAME_PREFIX + clientId);
    } catch {
      // storage refused
    }
  }

  /** The frame `clientId` is answered for good: no more sends or retries. */
  _settle(clientId) {
    this._outbox.delete(clientId);
    this._unstore(clientId);
    clearTimeout(this._retries.get(clientId)?.timer);
    this._retries.delete(clientId);
  }

  /** Sends the frame `clientId` again after a backoff that grows with each refusal. */
  _retryLater(clientId) {
    if (!this._outbox.has(clientId)) return;
    const retry = this._retries.get(clientId) ?? { attempt: 0, timer: null };
    clearTimeout(retry.timer);
    const delay = backoffDelay(retry.attempt);
    retry.attempt += 1;
    retry.timer = setTimeout(() => {
      retry.timer = null;
      const frame = this._outbox.get(clientId);
      // Not connected now: the reconnect's flush sends it.
      if (frame && this._canSend) this._transmit(frame);
    }, delay);
    this._retries.set(clientId, retry);
  }

  _onClose(ws, event) {
    if (ws !== this._ws) return;
    this._teardown();
    if (event && event.code === CLOSE_UNAUTHORIZED) {
      // A wrong token: wait for authenticate() with another one rather than hammer the server.
      this.token = null;
      this._stopped = true;
      this._setState("closed", { final: true, code: event.code });
      return;
    }
    this._scheduleReconnect();
  }

  _scheduleReconnect() {
    if (this._stopped) return;
    const delay = backoffDelay(this._attempt);
    this._attempt += 1;
    this._setState("closed", { final: false, delay });
    clearTimeout(this._retryTimer);
    this._retryTimer = setTimeout(() => this._open(), delay);
  }

  _flush() {
    for (const conversation of this._subscriptions) {
      this._transmit({ type: "subscribe", conversation });
    }
    for (const frame of this._outbox.values()) {
      // Sent now; a retry still waiting would only send it twice. Its attempt count stays, so
      // another refusal waits longer.
      const retry = this._retries.get(frame.client_id);
      if (retry) clearTimeout(retry.timer);
      this._transmit(frame);
    }
    const queued = this._queue;
    this._queue = [];
    for (const frame of queued) this._transmit(frame);
  }

  _transmit(frame) {
    try {
      this._ws.send(JSON.stringify(frame));
    } catch {
      // The connection is going away; onclose reconnects and the outbox resends.
    }
  }

  _startPing() {
    clearInterval(this._pingTimer);
    this._pingTimer = setInterval(() => {
      if (Date.now() - this._lastHeard > STALE_AFTER_MS) {
        this._teardown();
        this._scheduleReconnect();
        return;
      }
      if (!this._awaitingAuth) this._transmit({ type: "ping" });
    }, PING_INTERVAL_MS);
  }

  _teardown() {
    clearInterval(this._pingTimer);
    this._pingTimer = null;
    this._awaitingAuth = false;
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      if (ws.readyState === 0 || ws.readyState === 1) {
        try {
          ws.close();
        } catch {
          // already closing
        }
      }
    }
  }

  _setState(state, extra = {}) {
    this.state = state;
    this._emit("connection", { state, attempt: this._attempt, ...extra });
  }

  _emit(type, payload) {
    for (const fn of this._listeners.get(type) ?? []) {
      try {
        fn(payload);
      } catch (error) {
        console.error(`assist: a "${type}" listener failed`, error);
      }
    }
  }
}
