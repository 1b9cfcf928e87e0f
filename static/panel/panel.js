// The agent panel: one tab per open conversation, the ranked suggestions for the active one,
// search, and a demo composer. It speaks docs/protocol.md through AssistSocket.
//
// SECURITY: everything that comes from the server (template titles and bodies, customer names,
// message text, error details) reaches the page only through createElement + textContent.
// Never use innerHTML, outerHTML or insertAdjacentHTML here: a template body is shown as text,
// never parsed as HTML.

import {
  AssistSocket,
  acceptsSuggestions,
  formatProbability,
  newClientId,
  splitPlaceholders,
} from "./protocol.js";

const UNAVAILABLE_TEXT = "Suggestions are unavailable right now — search still works";
const WAITING_TEXT = "Waiting for a customer message…";
const NO_SUGGESTIONS_TEXT = "No suggestions in this conversation — search still works";
// How long after a customer message the panel waits for its ranking before saying so.
const SUGGESTION_TIMEOUT_MS = 5_000;
const CONTEXT_MESSAGES = 5;
const MAX_MESSAGES = 50;
const SEARCH_DEBOUNCE_MS = 150;
const FEEDBACK_MS = 2_500;

const byId = (id) => document.getElementById(id);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function isTyping(target) {
  return (
    target instanceof HTMLInputElement ||
    target instanceof HTMLTextAreaElement ||
    target instanceof HTMLSelectElement ||
    (target instanceof HTMLElement && target.isContentEditable)
  );
}

/** A body with its unfilled `[[name]]` markers wrapped in <mark>, built as text nodes only. */
function renderBody(body) {
  const p = el("p", "body");
  for (const part of splitPlaceholders(body)) {
    if (part.placeholder) {
      const mark = el("mark", "unfilled", part.text);
      mark.title = `Fill in ${part.name}`;
      p.append(mark);
    } else {
      p.append(document.createTextNode(part.text));
    }
  }
  return p;
}

async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Denied (no focus, an iframe without clipboard-write): fall back below.
  }
  return copyWithTextarea(text);
}

function copyWithTextarea(text) {
  const previous = document.activeElement;
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "clipboard-helper";
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  if (previous instanceof HTMLElement) previous.focus({ preventScroll: true });
  return ok;
}

class Conversation {
  constructor(id) {
    this.id = id;
    this.externalId = null;
    this.customerName = null;
    this.status = null;
    this.messages = [];
    this.suggestions = null; // the latest accepted `suggestions` body
    this.suggestionsEnabled = true; // false in an experiment's control arm: none will come
    this.shownAt = null; // performance.now() when that list was first on screen
    this.dismissed = null; // suggestion id the agent dismissed
    this.highlight = -1;
    this.picks = new Map(); // template key -> "picked" | "saved", for the list shown
    this.lastPick = null; // {key, text}: lets the composer tag an agent message with its template
    this.waitTimer = null;
    this.timedOut = false;
    this.unseen = false;
    this.refreshedFor = new Set(); // customer message ids we re-subscribed to learn about
  }

  get label() {
    return this.customerName || this.externalId || `#${this.id}`;
  }

  get visibleSuggestions() {
    const frame = this.suggestions;
    if (!frame || frame.suggestion === this.dismissed || frame.items.length === 0) return null;
    return frame;
  }
}

class Panel {
  constructor(root, socket, { focusConversation, embedded }) {
    this.root = root;
    this.socket = socket;
    this.embedded = embedded;
    this.conversations = new Map(); // String(id) -> Conversation, in tab order
    this.activeKey = null;
    this.assistAvailable = true;
    this.pendingPicks = new Map(); // client_id -> {conversation, list, key}
    this.search = {
      query: "",
      requestId: null, // the latest request; older answers are dropped
      shownFor: null, // the request whose results are shown
      items: [],
      shownAt: null,
      highlight: 0,
      picks: new Map(),
      pickOnArrival: false,
      debounce: null,
    };
    this.feedbackTimer = null;

    this.dom = {
      connection: byId("connection"),
      user: byId("user"),
      tabs: byId("tabs"),
      status: byId("assist-status"),
      messages: byId("messages"),
      noConfident: byId("no-confident"),
      suggestions: byId("suggestions"),
      suggestionsEmpty: byId("suggestions-empty"),
      search: byId("search"),
      searchResults: byId("search-results"),
      searchEmpty: byId("search-empty"),
      feedback: byId("feedback"),
      composer: byId("composer"),
      composerText: byId("composer-text"),
      composerRole: byId("composer-role"),
    };

    if (focusConversation !== null) {
      this.ensure(focusConversation);
      this.activeKey = String(focusConversation);
      socket.subscribe(focusConversation);
    }
  }

  start() {
    const s = this.socket;
    s.on("connection", (info) => this.onConnection(info));
    s.on("ready", (frame) => this.onReady(frame));
    s.on("state", (frame) => this.onState(frame));
    s.on("suggestions", (frame) => this.onSuggestions(frame));
    s.on("search_results", (frame) => this.onSearchResults(frame));
    s.on("ack", (frame) => this.onAck(frame));
    s.on("status", (frame) => this.onStatus(frame));
    s.on("error", (frame) => this.onError(frame));

    document.addEventListener("keydown", (event) => this.onKeydown(event));
    this.dom.tabs.addEventListener("click", (event) => {
      const tab = event.target.closest("[data-conversation]");
      if (tab) this.activate(tab.dataset.conversation);
    });
    this.dom.search.addEventListener("input", () => this.onSearchInput());
    this.dom.composer.addEventListener("submit", (event) => {
      event.preventDefault();
      this.sendComposer();
    });
    this.dom.composerText.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.sendComposer();
      }
    });
    window.addEventListener("online", () => s.reconnectNow());

    this.render();
    s.connect();
  }

  // --- State ----------------------------------------------------------------------------------

  ensure(id) {
    const key = String(id);
    let conversation = this.conversations.get(key);
    if (!conversation) {
      conversation = new Conversation(id);
      this.conversations.set(key, conversation);
    }
    return conversation;
  }

  get active() {
    return this.activeKey === null ? null : (this.conversations.get(this.activeKey) ?? null);
  }

  activate(key) {
    const conversation = this.conversations.get(String(key));
    if (!conversation || this.activeKey === String(key)) return;
    this.activeKey = String(key);
    conversation.unseen = false;
    // Search fills placeholders for a conversation, so results for the old tab would be wrong.
    if (this.search.query) this.sendSearch();
    this.render();
  }

  cycleTab(step) {
    const keys = [...this.conversations.keys()];
    if (keys.length === 0) return;
    const index = keys.indexOf(this.activeKey);
    this.activate(keys[(index + step + keys.length) % keys.length]);
  }

  applySuggestions(conversation, frame) {
    conversation.suggestions = frame;
    conversation.shownAt = null;
    conversation.picks = new Map();
    conversation.highlight = frame.items[0]?.confident ? 0 : -1;
    conversation.timedOut = false;
    clearTimeout(conversation.waitTimer);
    if (String(conversation.id) !== this.activeKey) conversation.unseen = true;
  }

  waitForSuggestions(conversation) {
    clearTimeout(conversation.waitTimer);
    if (!conversation.suggestionsEnabled) return; // nothing to wait for, nothing is down
    conversation.waitTimer = setTimeout(() => {
      conversation.timedOut = true;
      this.renderStatus();
    }, SUGGESTION_TIMEOUT_MS);
  }

  // --- Frames ---------------------------------------------------------------------------------

  onConnection({ state, attempt, final }) {
    const node = this.dom.connection;
    node.dataset.state = state;
    if (state === "open") node.textContent = "connected";
    else if (final) node.textContent = "disconnected";
    else if (state === "connecting" && attempt === 0) node.textContent = "connecting…";
    else node.textContent = "reconnecting…";
  }

  onReady(frame) {
    if (frame.user) this.dom.user.textContent = frame.user;
    for (const item of frame.conversations ?? []) {
      const conversation = this.ensure(item.id);
      conversation.externalId = item.external_id ?? conversation.externalId;
      conversation.customerName = item.customer_name ?? conversation.customerName;
      this.socket.subscribe(item.id);
    }
    if (this.active === null && this.conversations.size > 0) {
      this.activeKey = this.conversations.keys().next().value;
    }
    this.render();
  }

  onState(frame) {
    const info = frame.conversation;
    if (!info || info.id === undefined) return;
    const conversation = this.ensure(info.id);
    conversation.externalId = info.external_id ?? conversation.externalId;
    conversation.customerName = info.customer_name ?? conversation.customerName;
    conversation.status = info.status ?? conversation.status;
    if (typeof frame.suggestions_enabled === "boolean") {
      conversation.suggestionsEnabled = frame.suggestions_enabled;
    }
    if (Array.isArray(frame.messages)) {
      // The server's latest 50, plus our own sends it has not acknowledged yet.
      const unacked = conversation.messages.filter((m) => m.id === null);
      conversation.messages = [...frame.messages, ...unacked].slice(-MAX_MESSAGES);
    }
    const suggestions = frame.suggestions;
    if (
      suggestions &&
      acceptsSuggestions(conversation.id, conversation.suggestions?.seq ?? null, suggestions)
    ) {
      this.applySuggestions(conversation, suggestions);
    }
    if (typeof frame.assist_available === "boolean") this.setAvailable(frame.assist_available);
    if (this.active === null) this.activeKey = String(conversation.id);
    this.render();
  }

  onSuggestions(frame) {
    const conversation = this.conversations.get(String(frame.conversation));
    if (!conversation) return; // not one of ours
    if (!acceptsSuggestions(conversation.id, conversation.suggestions?.seq ?? null, frame)) return;
    this.applySuggestions(conversation, frame);
    this.setAvailable(true);
    // The ranking answers a customer message this panel has not seen (it came in through the
    // helpdesk, not this panel): subscribing again makes the server answer with a fresh `state`.
    const known = conversation.messages.some((m) => m.id === frame.message);
    if (frame.message != null && !known && !conversation.refreshedFor.has(frame.message)) {
      conversation.refreshedFor.add(frame.message);
      this.socket.refresh(conversation.id);
    }
    this.render();
  }

  onSearchResults(frame) {
    const search = this.search;
    if (frame.request_id !== search.requestId || !Array.isArray(frame.items)) return;
    search.shownFor = frame.request_id;
    search.items = frame.items;
    search.shownAt = null;
    search.highlight = 0;
    search.picks = new Map();
    this.renderSearch();
    if (search.pickOnArrival) {
      search.pickOnArrival = false;
      if (search.items.length > 0) this.pick("search", 0);
    }
  }

  onAck(frame) {
    if (frame.kind === "message") {
      for (const conversation of this.conversations.values()) {
        const message = conversation.messages.find((m) => m.client_id === frame.client_id);
        if (message) {
          message.id = frame.id;
          message.pending = false;
          if (conversation === this.active) this.renderMessages();
          break;
        }
      }
    } else if (frame.kind === "pick") {
      const pick = this.pendingPicks.get(frame.client_id);
      if (!pick) return;
      this.pendingPicks.delete(frame.client_id);
      pick.picks.set(pick.key, "saved");
      this.renderLists();
    }
  }

  onStatus(frame) {
    if (typeof frame.assist_available === "boolean") this.setAvailable(frame.assist_available);
    this.renderStatus();
  }

  onError(frame) {
    const pick = frame.client_id ? this.pendingPicks.get(frame.client_id) : null;
    if (pick) {
      this.pendingPicks.delete(frame.client_id);
      pick.picks.delete(pick.key);
      this.renderLists();
    }
    if (frame.client_id) {
      for (const conversation of this.conversations.values()) {
        const message = conversation.messages.find((m) => m.client_id === frame.client_id);
        if (message) {
          message.pending = false;
          message.failed = true;
          if (conversation === this.active) this.renderMessages();
        }
      }
    }
    const text =
      frame.code === "unauthenticated"
        ? "Not signed in: sign in and reload this page."
        : frame.detail || frame.code || "Something went wrong.";
    this.showFeedback(text, { error: true, sticky: frame.code === "unauthenticated" });
  }

  setAvailable(available) {
    this.assistAvailable = available;
    if (available) {
      for (const conversation of this.conversations.values()) conversation.timedOut = false;
    }
    this.renderStatus();
  }

  // --- Actions --------------------------------------------------------------------------------

  /** Picks item `index` of the suggestions (`list` = "suggestions") or search results. */
  pick(list, index) {
    const conversation = this.active;
    const fromSearch = list === "search";
    const frame = fromSearch ? null : conversation?.visibleSuggestions;
    const items = fromSearch ? this.search.items : (frame?.items ?? []);
    const item = items[index];
    if (!item) return;
    // Start the copy first, while the keypress still counts as a user gesture.
    const copied = copyText(item.body ?? "");

    const picks = fromSearch ? this.search.picks : conversation.picks;
    const shownAt = fromSearch ? this.search.shownAt : conversation.shownAt;
    if (conversation) {
      const clientId = newClientId();
      this.socket.send({
        type: "pick",
        conversation: conversation.id,
        suggestion: fromSearch ? null : frame.suggestion,
        template: item.key,
        rank: fromSearch ? null : index + 1,
        action: "inserted",
        client_id: clientId,
        time_to_pick_ms: Math.max(0, Math.round(performance.now() - (shownAt ?? performance.now()))),
      });
      this.pendingPicks.set(clientId, { picks, key: item.key });
      conversation.lastPick = { key: item.key, text: item.body ?? "" };
    }
    if (picks.get(item.key) !== "saved") picks.set(item.key, "picked");
    if (fromSearch) this.search.highlight = index;
    else conversation.highlight = index;
    this.renderLists();

    const detail = { conversation: conversation?.id ?? null, key: item.key, text: item.body ?? "" };
    window.dispatchEvent(new CustomEvent("assist:pick", { detail }));
    if (this.embedded) window.parent.postMessage({ type: "assist:pick", ...detail }, "*");

    copied.then((ok) =>
      this.showFeedback(ok ? "Copied" : "Could not copy: select the text and copy it by hand.", {
        error: !ok,
      }),
    );
  }

  dismiss() {
    const conversation = this.active;
    const frame = conversation?.visibleSuggestions;
    if (!frame) return;
    this.socket.send({
      type: "dismiss",
      conversation: conversation.id,
      suggestion: frame.suggestion,
      client_id: newClientId(),
    });
    conversation.dismissed = frame.suggestion;
    this.renderSuggestions();
  }

  moveHighlight(list, step) {
    const target = list === "search" ? this.search : this.active;
    const items =
      list === "search" ? this.search.items : (this.active?.visibleSuggestions?.items ?? []);
    if (!target || items.length === 0) return;
    const from = target.highlight < 0 ? (step > 0 ? -1 : items.length) : target.highlight;
    target.highlight = Math.max(0, Math.min(items.length - 1, from + step));
    this.renderLists();
    const listNode = list === "search" ? this.dom.searchResults : this.dom.suggestions;
    listNode.querySelector(".highlighted")?.scrollIntoView({ block: "nearest" });
  }

  onSearchInput() {
    clearTimeout(this.search.debounce);
    this.search.pickOnArrival = false;
    this.search.debounce = setTimeout(() => this.sendSearch(), SEARCH_DEBOUNCE_MS);
  }

  sendSearch() {
    const search = this.search;
    clearTimeout(search.debounce);
    search.query = this.dom.search.value.trim();
    if (!search.query) {
      this.clearSearchResults();
      return;
    }
    search.requestId = newClientId();
    const frame = { type: "search", query: search.query, request_id: search.requestId };
    if (this.active) frame.conversation = this.active.id;
    this.socket.send(frame);
  }

  clearSearchResults() {
    Object.assign(this.search, {
      query: "",
      requestId: null,
      shownFor: null,
      items: [],
      highlight: 0,
      pickOnArrival: false,
    });
    this.renderSearch();
  }

  closeSearch() {
    clearTimeout(this.search.debounce);
    this.dom.search.value = "";
    this.clearSearchResults();
    this.dom.search.blur();
  }

  sendComposer() {
    const conversation = this.active;
    const text = this.dom.composerText.value.trim();
    if (!text) return;
    if (!conversation) {
      this.showFeedback("No conversation is open.", { error: true });
      return;
    }
    const role = this.dom.composerRole.value === "agent" ? "agent" : "customer";
    const clientId = newClientId();
    const frame = { type: "message", conversation: conversation.id, role, text, client_id: clientId };
    // An agent message that is exactly the picked template's text counts as sending it.
    if (role === "agent" && conversation.lastPick && text === conversation.lastPick.text.trim()) {
      frame.template = conversation.lastPick.key;
    }
    this.socket.send(frame);
    conversation.messages.push({
      id: null,
      client_id: clientId,
      role,
      text,
      sent_at: new Date().toISOString(),
      template: frame.template ?? null,
      pending: true,
    });
    conversation.messages = conversation.messages.slice(-MAX_MESSAGES);
    if (role === "customer") this.waitForSuggestions(conversation);
    this.dom.composerText.value = "";
    this.renderMessages();
  }

  onKeydown(event) {
    if (event.defaultPrevented || event.isComposing) return;
    // Leave real shortcuts (Ctrl+C, Cmd+…, Alt+…) alone; Ctrl+Alt is AltGr, which types `[`
    // and `]` on many layouts.
    if (event.metaKey || event.ctrlKey !== event.altKey) return;
    const target = event.target;
    if (target === this.dom.search) {
      this.onSearchKeydown(event);
      return;
    }
    if (isTyping(target)) {
      if (event.key === "Escape") target.blur();
      return;
    }
    if ((event.key === "Enter" || event.key === " ") && target instanceof HTMLButtonElement) return;

    const items = this.active?.visibleSuggestions?.items ?? [];
    if (/^[1-9]$/.test(event.key)) {
      const rank = Number(event.key);
      if (rank <= items.length) {
        event.preventDefault();
        this.pick("suggestions", rank - 1);
      }
      return;
    }
    switch (event.key) {
      case "ArrowDown":
      case "ArrowUp":
        if (items.length === 0) return;
        event.preventDefault();
        this.moveHighlight("suggestions", event.key === "ArrowDown" ? 1 : -1);
        break;
      case "Enter":
        if (this.active && this.active.highlight >= 0 && this.active.highlight < items.length) {
          event.preventDefault();
          this.pick("suggestions", this.active.highlight);
        }
        break;
      case "Escape":
        if (items.length > 0) this.dismiss();
        else if (this.search.query) this.closeSearch();
        break;
      case "/":
        event.preventDefault();
        this.dom.search.focus();
        this.dom.search.select();
        break;
      case "[":
        event.preventDefault();
        this.cycleTab(-1);
        break;
      case "]":
        event.preventDefault();
        this.cycleTab(1);
        break;
      default:
    }
  }

  onSearchKeydown(event) {
    const search = this.search;
    switch (event.key) {
      case "ArrowDown":
      case "ArrowUp":
        event.preventDefault();
        this.moveHighlight("search", event.key === "ArrowDown" ? 1 : -1);
        break;
      case "Enter": {
        event.preventDefault();
        const query = this.dom.search.value.trim();
        if (!query) return;
        const answered = search.shownFor !== null && search.shownFor === search.requestId;
        if (answered && query === search.query) {
          if (search.items.length > 0) this.pick("search", Math.max(0, search.highlight));
        } else {
          // Typed faster than the results came back: pick the first one when they arrive.
          if (query !== search.query) this.sendSearch();
          search.pickOnArrival = true;
        }
        break;
      }
      case "Escape":
        event.preventDefault();
        this.closeSearch();
        break;
      default:
    }
  }

  showFeedback(text, { error = false, sticky = false } = {}) {
    const node = this.dom.feedback;
    node.textContent = text;
    node.classList.toggle("error", error);
    clearTimeout(this.feedbackTimer);
    if (!sticky) {
      this.feedbackTimer = setTimeout(() => {
        node.textContent = "";
        node.classList.remove("error");
      }, FEEDBACK_MS);
    }
  }

  // --- Rendering (createElement + textContent only; see the note at the top) -----------------

  render() {
    this.renderTabs();
    this.renderStatus();
    this.renderMessages();
    this.renderLists();
  }

  renderLists() {
    this.renderSuggestions();
    this.renderSearch();
  }

  renderTabs() {
    const tabs = [];
    for (const [key, conversation] of this.conversations) {
      const tab = el("button", "tab", conversation.label);
      tab.type = "button";
      tab.setAttribute("role", "tab");
      tab.dataset.conversation = key;
      const selected = key === this.activeKey;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      tab.classList.toggle("active", selected);
      tab.classList.toggle("unseen", conversation.unseen);
      tab.classList.toggle("closed", conversation.status === "closed");
      if (conversation.externalId) tab.title = conversation.externalId;
      if (conversation.unseen) tab.append(el("span", "visually-hidden", " (new suggestions)"));
      tabs.push(tab);
    }
    this.dom.tabs.replaceChildren(...tabs);
  }

  renderStatus() {
    const unavailable = !this.assistAvailable || Boolean(this.active?.timedOut);
    const node = this.dom.status;
    const text = unavailable ? UNAVAILABLE_TEXT : "";
    if (node.textContent !== text) node.textContent = text; // no repeat announcements
    node.classList.toggle("unavailable", unavailable);
  }

  renderMessages() {
    const messages = this.active?.messages.slice(-CONTEXT_MESSAGES) ?? [];
    const rows = messages.map((message) => {
      const li = el("li", `message role-${message.role === "agent" ? "agent" : "customer"}`);
      if (message.pending) li.classList.add("pending");
      if (message.failed) li.classList.add("failed");
      li.append(el("span", "role", message.role === "agent" ? "Agent" : "Customer"));
      li.append(el("span", "text", message.text));
      return li;
    });
    this.dom.messages.replaceChildren(...rows);
  }

  renderSuggestions() {
    const conversation = this.active;
    const frame = conversation?.visibleSuggestions ?? null;
    const list = this.dom.suggestions;
    this.dom.suggestionsEmpty.hidden = !(conversation && !conversation.suggestions);
    this.dom.suggestionsEmpty.textContent = conversation?.suggestionsEnabled === false
      ? NO_SUGGESTIONS_TEXT
      : WAITING_TEXT;
    if (!frame) {
      list.replaceChildren();
      list.hidden = true;
      this.dom.noConfident.hidden = true;
      return;
    }
    if (conversation.shownAt === null) conversation.shownAt = performance.now();
    const confident = frame.items.some((item) => item.confident);
    this.dom.noConfident.hidden = confident;
    list.hidden = false;
    // Which list is on screen, for tests and for anyone reading the DOM.
    list.dataset.seq = String(frame.seq);
    list.dataset.suggestion = String(frame.suggestion);
    list.classList.toggle("dimmed", !confident);
    list.replaceChildren(
      ...frame.items.map((item, index) =>
        this.renderItem(item, index, {
          highlighted: index === conversation.highlight,
          picked: conversation.picks.get(item.key),
          onPick: () => this.pick("suggestions", index),
        }),
      ),
    );
  }

  renderSearch() {
    const search = this.search;
    const list = this.dom.searchResults;
    const shown = search.shownFor !== null;
    this.dom.searchEmpty.hidden = !(shown && search.items.length === 0);
    list.hidden = !shown || search.items.length === 0;
    if (!shown) {
      list.replaceChildren();
      return;
    }
    if (search.shownAt === null) search.shownAt = performance.now();
    list.replaceChildren(
      ...search.items.map((item, index) => {
        const li = this.renderItem(item, index, {
          highlighted: index === search.highlight,
          picked: search.picks.get(item.key),
          onPick: () => this.pick("search", index),
        });
        li.classList.add("search-result");
        return li;
      }),
    );
  }

  renderItem(item, index, { highlighted, picked, onPick }) {
    const li = el("li", "suggestion");
    li.dataset.key = item.key;
    li.dataset.rank = String(index + 1);
    li.classList.toggle("confident", Boolean(item.confident));
    li.classList.toggle("already-sent", Boolean(item.already_sent));
    li.classList.toggle("highlighted", highlighted);
    li.classList.toggle("picked", Boolean(picked));
    li.classList.toggle("saved", picked === "saved");
    if (highlighted) li.setAttribute("aria-current", "true");

    const head = el("div", "suggestion-head");
    head.append(el("span", "rank", index + 1));
    head.append(el("span", "title", item.title || item.key));
    const probability = formatProbability(item.probability);
    if (probability) {
      const node = el("span", "probability", probability);
      node.title = "Calibrated probability";
      head.append(node);
    }
    if (item.confident) head.append(el("span", "badge badge-confident", "confident"));
    if (item.already_sent) head.append(el("span", "badge badge-sent", "already sent"));
    if (picked) head.append(el("span", "pick-state", picked === "saved" ? "saved" : "copied"));
    li.append(head, renderBody(item.body));
    li.addEventListener("click", onPick);
    return li;
  }
}

function parseConversationParam(value) {
  if (value === null || value.trim() === "") return null;
  return /^\d+$/.test(value.trim()) ? Number(value.trim()) : value.trim();
}

function main() {
  const root = byId("assist-panel");
  if (!root) return;
  const params = new URLSearchParams(window.location.search);
  const embed = params.get("embed") === "1";
  const framed = window.parent !== window;
  root.classList.toggle("embed", embed);

  const socket = new AssistSocket(root.dataset.wsPath || "/ws/assist/");
  const panel = new Panel(root, socket, {
    focusConversation: parseConversationParam(params.get("conversation")),
    embedded: embed || framed,
  });

  if (embed && framed) {
    // The extension's side panel frames this page, where the session cookie may not reach the
    // socket: it can hand over the agent's token (never through the URL; see docs/protocol.md).
    window.addEventListener("message", (event) => {
      const data = event.data;
      if (event.source !== window.parent || !data || data.type !== "assist:auth") return;
      if (typeof data.token === "string" && data.token) socket.authenticate(data.token);
    });
    window.parent.postMessage({ type: "assist:panel-ready" }, "*");
  }
  panel.start();
}

main();
