// node --test tests/js/  (node's own runner; no npm packages)
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, mock, test } from "node:test";

import {
  AssistSocket,
  BACKOFF_MAX_MS,
  CLOSE_UNAUTHORIZED,
  PING_INTERVAL_MS,
  STORED_FRAME_MAX_AGE_MS,
  acceptsSuggestions,
  backoffDelay,
  formatProbability,
  socketUrl,
  splitPlaceholders,
} from "../../static/panel/protocol.js";

/** Stands in for the browser's WebSocket; the test plays the server. */
class FakeWebSocket {
  static instances = [];

  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    FakeWebSocket.instances.push(this);
  }

  send(data) {
    if (this.readyState !== 1) throw new Error("not open");
    this.sent.push(JSON.parse(data));
  }

  close() {
    this.readyState = 3;
  }

  // Server side.
  accept() {
    this.readyState = 1;
    this.onopen?.();
  }

  deliver(frame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code });
  }

  static get last() {
    return FakeWebSocket.instances.at(-1);
  }
}

const location = { protocol: "https:", host: "assist.example" };

function makeSocket(options = {}) {
  return new AssistSocket("/ws/assist/", { WebSocketImpl: FakeWebSocket, location, ...options });
}

describe("helpers", () => {
  test("backoff doubles from 0.5 s and stops at 10 s", () => {
    const middle = () => 0.5; // no jitter
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 12].map((attempt) => backoffDelay(attempt, middle)),
      [500, 1000, 2000, 4000, 8000, 10000, 10000, 10000],
    );
  });

  test("backoff jitters within ±20 % and never past the cap", () => {
    assert.equal(backoffDelay(0, () => 0), 400);
    assert.equal(backoffDelay(0, () => 1), 600);
    assert.equal(backoffDelay(10, () => 1), BACKOFF_MAX_MS);
    assert.equal(backoffDelay(10, () => 0), 8000);
  });

  test("a suggestions frame is taken only for its conversation with a greater seq", () => {
    const frame = { conversation: 7, seq: 3, items: [] };
    assert.equal(acceptsSuggestions(7, null, frame), true);
    assert.equal(acceptsSuggestions("7", 2, frame), true);
    assert.equal(acceptsSuggestions(7, 3, frame), false);
    assert.equal(acceptsSuggestions(7, 4, frame), false);
    assert.equal(acceptsSuggestions(8, null, frame), false);
    assert.equal(acceptsSuggestions(7, null, { conversation: 7, seq: 1 }), false);
  });

  test("placeholders are split out of a body", () => {
    assert.deepEqual(splitPlaceholders("Hi [[name]], your card ships on [[date]]."), [
      { text: "Hi ", placeholder: false },
      { text: "[[name]]", placeholder: true, name: "name" },
      { text: ", your card ships on ", placeholder: false },
      { text: "[[date]]", placeholder: true, name: "date" },
      { text: ".", placeholder: false },
    ]);
    assert.deepEqual(splitPlaceholders("<b>plain</b>"), [{ text: "<b>plain</b>", placeholder: false }]);
    assert.deepEqual(splitPlaceholders(""), []);
  });

  test("probabilities are percentages; search results have none", () => {
    assert.equal(formatProbability(0.834), "83%");
    assert.equal(formatProbability(1), "100%");
    assert.equal(formatProbability(null), "");
  });

  test("the socket URL follows the page's scheme", () => {
    assert.equal(socketUrl("/ws/assist/", location), "wss://assist.example/ws/assist/");
    assert.equal(
      socketUrl("/ws/assist/", { protocol: "http:", host: "localhost:8000" }),
      "ws://localhost:8000/ws/assist/",
    );
  });
});

describe("AssistSocket", () => {
  beforeEach(() => {
    FakeWebSocket.instances = [];
    mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"] });
  });

  afterEach(() => {
    mock.timers.reset();
  });

  test("frames sent while disconnected go out after the connection opens", () => {
    const socket = makeSocket();
    socket.subscribe(1);
    socket.send({ type: "message", conversation: 1, role: "customer", text: "hi", client_id: "m1" });
    socket.send({ type: "search", query: "card", request_id: "r1" });
    socket.connect();
    const ws = FakeWebSocket.last;
    assert.equal(ws.url, "wss://assist.example/ws/assist/");
    assert.deepEqual(ws.sent, []);
    ws.accept();
    assert.deepEqual(
      ws.sent.map((f) => f.type),
      ["subscribe", "message", "search"],
    );
  });

  test("after a reconnect it re-subscribes and resends what was never acknowledged", () => {
    const socket = makeSocket();
    const states = [];
    socket.on("connection", ({ state }) => states.push(state));
    socket.connect();
    FakeWebSocket.last.accept();
    socket.subscribe(1);
    socket.subscribe(2);
    socket.send({ type: "pick", conversation: 1, client_id: "p1" });
    socket.send({ type: "pick", conversation: 1, client_id: "p2" });
    FakeWebSocket.last.deliver({ type: "ack", client_id: "p1", id: 10, kind: "pick" });
    FakeWebSocket.last.drop();
    assert.equal(socket.state, "closed");

    mock.timers.tick(BACKOFF_MAX_MS);
    const second = FakeWebSocket.last;
    assert.equal(FakeWebSocket.instances.length, 2);
    second.accept();
    assert.deepEqual(second.sent, [
      { type: "subscribe", conversation: 1 },
      { type: "subscribe", conversation: 2 },
      { type: "pick", conversation: 1, client_id: "p2" },
    ]);
    assert.deepEqual(states, ["connecting", "open", "closed", "connecting", "open"]);
  });

  test("with a token the auth frame goes first and nothing else until ready", () => {
    const socket = makeSocket({ token: "secret" });
    socket.subscribe(5);
    socket.connect();
    const ws = FakeWebSocket.last;
    ws.accept();
    socket.send({ type: "message", conversation: 5, client_id: "m1" });
    assert.deepEqual(ws.sent, [{ type: "auth", token: "secret" }]);
    ws.deliver({ type: "ready", user: "jo", conversations: [] });
    assert.deepEqual(
      ws.sent.map((f) => f.type),
      ["auth", "subscribe", "message"],
    );
  });

  test("a wrong token closes for good instead of retrying", () => {
    const socket = makeSocket({ token: "wrong" });
    const events = [];
    socket.on("connection", (info) => events.push(info));
    socket.connect();
    FakeWebSocket.last.accept();
    FakeWebSocket.last.drop(CLOSE_UNAUTHORIZED);
    mock.timers.tick(60_000);
    assert.equal(FakeWebSocket.instances.length, 1);
    assert.equal(events.at(-1).final, true);
  });

  test("an error for a frame removes it from the outbox; unauthenticated keeps it", () => {
    const socket = makeSocket();
    socket.connect();
    const ws = FakeWebSocket.last;
    ws.accept();
    socket.send({ type: "pick", client_id: "bad" });
    socket.send({ type: "pick", client_id: "later" });
    ws.deliver({ type: "error", code: "invalid", detail: "rank", client_id: "bad" });
    ws.deliver({ type: "error", code: "unauthenticated", detail: "", client_id: "later" });
    assert.equal(socket.pendingCount, 1);
    ws.deliver({ type: "ready", user: "jo", conversations: [] });
    assert.deepEqual(ws.sent.at(-1), { type: "pick", client_id: "later" });
  });

  test("a retriable error resends its frame with growing backoff until it is acknowledged", () => {
    const socket = makeSocket();
    socket.connect();
    const ws = FakeWebSocket.last;
    ws.accept();
    const pick = { type: "pick", client_id: "p1" };
    socket.send(pick);
    const sends = () => ws.sent.filter((f) => f.client_id === "p1").length;
    // The database is away: refused three times, each wait longer than the last.
    let waited = 0;
    const refusals = ["unavailable", "rate_limited", "unavailable"];
    for (const [attempt, code] of refusals.entries()) {
      ws.deliver({ type: "error", code, detail: "", client_id: "p1" });
      assert.equal(socket.pendingCount, 1, "kept in the outbox");
      const before = sends();
      const shortest = Math.round(backoffDelay(attempt, () => 0)) - 1;
      mock.timers.tick(shortest);
      assert.equal(sends(), before, "not before its backoff");
      mock.timers.tick(backoffDelay(attempt, () => 1) - shortest);
      assert.equal(sends(), before + 1, "sent again after it");
      waited += shortest;
    }
    assert.ok(waited >= 400 + 800 + 1600 - 3);
    ws.deliver({ type: "ack", kind: "pick", client_id: "p1", id: 9 });
    assert.equal(socket.pendingCount, 0);
    mock.timers.tick(60_000);
    assert.equal(sends(), 4, "nothing more once acknowledged");
  });

  test("a retry waiting across a reconnect is sent once, by the reconnect", () => {
    const socket = makeSocket();
    socket.connect();
    FakeWebSocket.last.accept();
    socket.send({ type: "message", client_id: "m1", text: "hi" });
    FakeWebSocket.last.deliver({ type: "error", code: "unavailable", detail: "", client_id: "m1" });
    FakeWebSocket.last.drop();
    mock.timers.tick(BACKOFF_MAX_MS);
    const ws = FakeWebSocket.last;
    ws.accept();
    mock.timers.tick(60_000);
    assert.equal(ws.sent.filter((f) => f.client_id === "m1").length, 1);
    assert.equal(socket.pendingCount, 1);
  });

  test("a final error after retries drops the frame", () => {
    const socket = makeSocket();
    socket.connect();
    const ws = FakeWebSocket.last;
    ws.accept();
    socket.send({ type: "pick", client_id: "p1" });
    ws.deliver({ type: "error", code: "rate_limited", detail: "", client_id: "p1" });
    mock.timers.tick(BACKOFF_MAX_MS);
    ws.deliver({ type: "error", code: "invalid", detail: "", client_id: "p1" });
    assert.equal(socket.pendingCount, 0);
    const sends = () => ws.sent.filter((f) => f.client_id === "p1").length;
    const before = sends();
    mock.timers.tick(60_000);
    assert.equal(sends(), before);
  });

  test("pings every 25 s and reconnects when the server has gone quiet", () => {
    const socket = makeSocket();
    socket.connect();
    const ws = FakeWebSocket.last;
    ws.accept();
    mock.timers.tick(PING_INTERVAL_MS);
    assert.deepEqual(ws.sent, [{ type: "ping" }]);
    ws.deliver({ type: "pong" });
    mock.timers.tick(PING_INTERVAL_MS);
    assert.equal(ws.sent.length, 2);
    mock.timers.tick(3 * PING_INTERVAL_MS); // nothing heard for too long
    assert.equal(socket.state, "closed");
    mock.timers.tick(BACKOFF_MAX_MS);
    assert.equal(FakeWebSocket.instances.length, 2);
  });

  test("listeners get server frames by type", () => {
    const socket = makeSocket();
    const got = [];
    socket.on("suggestions", (frame) => got.push(frame.seq));
    socket.connect();
    FakeWebSocket.last.accept();
    FakeWebSocket.last.deliver({ type: "suggestions", conversation: 1, seq: 4, items: [] });
    FakeWebSocket.last.deliver({ type: "status", assist_available: false });
    assert.deepEqual(got, [4]);
  });
});

describe("AssistSocket subscriptions", () => {
  beforeEach(() => {
    FakeWebSocket.instances = [];
  });

  test("subscribing twice sends one frame; refresh asks for the state again", () => {
    const socket = makeSocket();
    socket.connect();
    const ws = FakeWebSocket.last;
    ws.accept();
    socket.subscribe(3);
    socket.subscribe(3);
    assert.equal(ws.sent.length, 1);
    socket.refresh(3);
    assert.deepEqual(ws.sent, [
      { type: "subscribe", conversation: 3 },
      { type: "subscribe", conversation: 3 },
    ]);
    socket.close();
  });
});

/** Stands in for the tab's sessionStorage (the Web Storage interface the socket uses). */
class FakeStorage {
  constructor() {
    this.items = new Map();
  }

  get length() {
    return this.items.size;
  }

  key(index) {
    return [...this.items.keys()][index] ?? null;
  }

  getItem(key) {
    return this.items.has(key) ? this.items.get(key) : null;
  }

  setItem(key, value) {
    this.items.set(key, String(value));
  }

  removeItem(key) {
    this.items.delete(key);
  }
}

describe("AssistSocket outbox across page loads", () => {
  let clock;
  const now = () => clock;

  beforeEach(() => {
    FakeWebSocket.instances = [];
    clock = 1_000_000;
  });

  /** A page: a socket on `storage`, connected, answered `ready` for `user`. */
  function page(storage, user, options = {}) {
    const socket = makeSocket({ storage, now, ...options });
    socket.connect();
    const ws = FakeWebSocket.last;
    ws.accept();
    ws.deliver({ type: "ready", user, conversations: [] });
    return { socket, ws };
  }

  test("a pick unacknowledged when the page went away is sent by the next page, once", () => {
    const storage = new FakeStorage();
    const first = page(storage, "ann");
    first.socket.send({ type: "pick", conversation: 1, client_id: "p1" });
    first.socket.send({ type: "pick", conversation: 1, client_id: "p2" });
    first.ws.deliver({ type: "ack", client_id: "p1", kind: "pick" });
    // The page is replaced (a chat switch reloads it) before p2's ack arrives.

    clock += 5_000;
    const second = page(storage, "ann");
    assert.deepEqual(
      second.ws.sent.filter((f) => f.type === "pick"),
      [{ type: "pick", conversation: 1, client_id: "p2" }],
    );
    assert.equal(second.socket.pendingCount, 1);
    second.ws.deliver({ type: "ack", client_id: "p2", kind: "pick" });
    assert.equal(second.socket.pendingCount, 0);
    assert.equal(storage.length, 0);

    const third = page(storage, "ann");
    assert.deepEqual(third.ws.sent, []);
  });

  test("with a token the frames a page left go out after ready, behind the auth frame", () => {
    const storage = new FakeStorage();
    page(storage, "ann").socket.send({ type: "dismiss", conversation: 1, client_id: "d1" });

    const socket = makeSocket({ storage, now, token: "secret" });
    socket.connect();
    const ws = FakeWebSocket.last;
    ws.accept();
    assert.deepEqual(ws.sent, [{ type: "auth", token: "secret" }]);
    ws.deliver({ type: "ready", user: "ann", conversations: [] });
    assert.deepEqual(ws.sent.slice(1), [{ type: "dismiss", conversation: 1, client_id: "d1" }]);
  });

  test("another user's frames are never sent under this login, and stay for their owner", () => {
    const storage = new FakeStorage();
    page(storage, "ann").socket.send({ type: "pick", conversation: 1, client_id: "p1" });

    const bob = page(storage, "bob");
    assert.deepEqual(bob.ws.sent, []);
    assert.equal(bob.socket.pendingCount, 0);

    const ann = page(storage, "ann");
    assert.deepEqual(ann.ws.sent, [{ type: "pick", conversation: 1, client_id: "p1" }]);
  });

  test("a frame sent before ready names the user is stored once it does", () => {
    const storage = new FakeStorage();
    const socket = makeSocket({ storage, now });
    socket.send({ type: "pick", conversation: 1, client_id: "early" });
    assert.equal(storage.length, 0); // whose it is is not known yet
    socket.connect();
    FakeWebSocket.last.accept();
    FakeWebSocket.last.deliver({ type: "ready", user: "ann", conversations: [] });
    assert.equal(JSON.parse(storage.getItem("assist-outbox:early")).user, "ann");
  });

  test("a final error drops the stored frame; a retriable one keeps it", () => {
    const storage = new FakeStorage();
    const { socket, ws } = page(storage, "ann");
    socket.send({ type: "pick", conversation: 1, client_id: "bad" });
    socket.send({ type: "pick", conversation: 1, client_id: "later" });
    ws.deliver({ type: "error", code: "invalid", client_id: "bad", message: "no" });
    ws.deliver({ type: "error", code: "rate_limited", client_id: "later", message: "wait" });
    assert.deepEqual([...storage.items.keys()], ["assist-outbox:later"]);
    socket.close();
  });

  test("frames older than a day and unreadable entries are dropped, not sent", () => {
    const storage = new FakeStorage();
    page(storage, "ann").socket.send({ type: "pick", conversation: 1, client_id: "old" });
    storage.setItem("assist-outbox:junk", "{not json");
    clock += STORED_FRAME_MAX_AGE_MS + 1;
    const { ws } = page(storage, "ann");
    assert.deepEqual(ws.sent, []);
    assert.equal(storage.length, 0);
  });

  test("a storage that refuses every call leaves the in-memory outbox working", () => {
    const refusing = {
      get length() {
        throw new Error("SecurityError");
      },
      key() {
        throw new Error("SecurityError");
      },
      getItem() {
        throw new Error("SecurityError");
      },
      setItem() {
        throw new Error("QuotaExceededError");
      },
      removeItem() {
        throw new Error("SecurityError");
      },
    };
    const { socket, ws } = page(refusing, "ann");
    socket.send({ type: "pick", conversation: 1, client_id: "p1" });
    assert.deepEqual(ws.sent, [{ type: "pick", conversation: 1, client_id: "p1" }]);
    ws.deliver({ type: "ack", client_id: "p1", kind: "pick" });
    assert.equal(socket.pendingCount, 0);
  });
});
