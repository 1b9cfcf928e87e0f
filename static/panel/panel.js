// The agent panel: one tab per open conversation, the ranked suggestions for the active one,
// search, and closing a chat. It speaks docs/protocol.md through AssistSocket. (Playing the
// customer is the demo helpdesk's business, never the panel's: static/helpdesk/.)
//
// This file wires things together: socket frames and the agent's clicks and keys become events
// for reduce() (reduce.js), whose effects go to the socket; the views (views.js, lists.js) draw
// the new state. Timers, the clock, the clipboard and client ids live here, not in the state.
// Whatever the server sends reaches the page as text only (see the note in dom.js).

import { copyText } from "./clipboard.js";
import { byId, el } from "./dom.js";
import { isPanelKey, keyCommand, keyTarget, remoteCommand } from "./keys.js";
import { renderSearch, renderSuggestions } from "./lists.js";
import { fitTabs } from "./tabstrip.js";
import { AssistSocket, newClientId } from "./protocol.js";
import { reduce } from "./reduce.js";
import {
  activeConversation,
  conversationLabel,
  initialState,
  listItems,
  searchAnswered,
} from "./state.js";
import {
  FeedbackLine,
  renderConnection,
  renderMessages,
  renderStatus,
  keyHelp,
  renderLanguage,
  renderTabs,
} from "./views.js";

const SEARCH_DEBOUNCE_MS = 150;

class Panel {
  constructor(root, socket, { focusConversation, embedded }) {
    this.root = root;
    this.socket = socket;
    this.embedded = embedded;
    this.state = initialState();
    this.searchDebounce = null;

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
      moreTabs: byId("more-tabs"),
      conversationBar: byId("conversation-bar"),
      conversationName: byId("conversation-name"),
      closeChat: byId("close-chat"),
      language: byId("conversation-language"),
      languageNote: byId("language-note"),
    };
    // Until `ready` says otherwise: a supervisor's panel only watches (no close button).
    this.readOnly = true;
    this.feedback = new FeedbackLine(this.dom.feedback);
    this.onPick = (list, index) => this.pick(list, index);
    this.onReject = (index) => this.reject(index);
    this.help = keyHelp();
    root.append(this.help);
    const helpButton = el("button", "help-button", "?");
    helpButton.type = "button";
    helpButton.title = "Keyboard shortcuts (?)";
    helpButton.setAttribute("aria-label", "Keyboard shortcuts");
    helpButton.addEventListener("click", () => this.toggleHelp());
    root.querySelector(".panel-header")?.append(helpButton);

    if (focusConversation !== null) this.update({ type: "focus", conversation: focusConversation });
  }

  start() {
    const s = this.socket;
    s.on("connection", (info) => renderConnection(this.dom.connection, info));
    s.on("ready", (frame) => this.onReady(frame));
    s.on("state", (frame) => this.update(frame) && this.render());
    s.on("suggestions", (frame) => this.update(frame) && this.render());
    s.on("search_results", (frame) => this.onSearchResults(frame));
    s.on("ack", (frame) => this.onAck(frame));
    s.on("status", (frame) => {
      this.update(frame);
      this.renderStatus();
    });
    s.on("error", (frame) => this.onError(frame));
    s.on("closed", (frame) => this.update(frame) && this.render());
    s.on("language", (frame) => this.update(frame) && this.renderConversationBar());

    document.addEventListener("keydown", (event) => this.onKeydown(event));
    this.dom.tabs.addEventListener("click", (event) => {
      const tab = event.target.closest("[data-conversation]");
      if (tab) this.activate({ type: "activate", conversation: tab.dataset.conversation });
    });
    this.dom.search.addEventListener("input", () => this.onSearchInput());
    this.dom.moreTabs.addEventListener("change", () => {
      const conversation = this.dom.moreTabs.value;
      if (conversation) this.activate({ type: "activate", conversation });
    });
    new ResizeObserver(() => fitTabs(this.dom.tabs, this.dom.moreTabs)).observe(
      this.dom.tabs.parentElement,
    );
    this.dom.closeChat.addEventListener("click", () => this.closeChat());
    this.dom.language.addEventListener("change", () => this.setLanguage(this.dom.language.value));
    window.addEventListener("online", () => s.reconnectNow());

    this.render();
    s.connect();
  }

  /** Applies an event; performs its effects. False when it changed nothing. */
  update(event) {
    const previous = this.state;
    this.state = reduce(previous, event);
    if (this.state === previous) return false;
    for (const effect of this.state.effects) {
      if (effect.type === "send") this.socket.send(effect.frame);
      else if (effect.type === "subscribe") this.socket.subscribe(effect.conversation);
      else if (effect.type === "refresh") this.socket.refresh(effect.conversation);
      else if (effect.type === "unsubscribe") this.socket.unsubscribe(effect.conversation);
    }
    return true;
  }

  // --- Frames ---------------------------------------------------------------------------------

  onReady(frame) {
    if (frame.user) this.dom.user.textContent = frame.user;
    this.readOnly = frame.read_only === true;
    this.update(frame);
    this.render();
  }

  onSearchResults(frame) {
    if (!this.update(frame)) return;
    this.renderSearch();
    if (this.state.search.pickOnArrival) {
      this.update({ type: "pick_on_arrival", value: false });
      if (this.state.search.items.length > 0) this.pick("search", 0);
    }
  }

  onAck(frame) {
    const before = this.state;
    if (!this.update(frame)) return;
    if (this.state.conversations !== before.conversations && frame.kind === "close") {
      this.render();
      this.feedback.show("Chat closed");
      return;
    }
    if (this.state.pendingPicks !== before.pendingPicks) this.renderLists();
    else this.renderMessagesIfChanged(before);
  }

  onError(frame) {
    const before = this.state;
    if (this.update(frame)) {
      if (this.state.pendingPicks !== before.pendingPicks) this.renderLists();
      this.renderMessagesIfChanged(before);
    }
    const text =
      frame.code === "unauthenticated"
        ? "Not signed in: sign in and reload this page."
        : frame.detail || frame.code || "Something went wrong.";
    this.feedback.show(text, { error: true, sticky: frame.code === "unauthenticated" });
  }

  // --- Actions --------------------------------------------------------------------------------

  /** An `activate` or `cycle_tab` event. The page around the panel (the demo helpdesk, the
   * extension's side panel) hears of the agent's switch and shows that chat too, unless the
   * switch came from it (`fromHost`). */
  activate(event, { fromHost = false } = {}) {
    if (!this.update(event)) return;
    // Search fills placeholders for a conversation, so results for the old tab would be wrong.
    if (this.state.search.query) this.sendSearch();
    this.render();
    const conversation = activeConversation(this.state);
    if (this.embedded && !fromHost && conversation) {
      window.parent.postMessage({ type: "assist:active", conversation: conversation.id }, "*");
    }
  }

  /** Messages from the page that frames the panel: the chat it shows now, and the keys the
   * agent pressed there (keys.js, remoteCommand). Only from the parent window. */
  onHostMessage(data) {
    if (data?.type === "assist:activate" && data.conversation != null) {
      const key = String(data.conversation);
      const event = this.state.conversations.has(key)
        ? { type: "activate", conversation: key }
        : { type: "focus", conversation: data.conversation };
      this.activate(event, { fromHost: true });
    } else if (data?.type === "assist:command") {
      const suggestions = listItems(this.state, "suggestions").length;
      const command = remoteCommand(data.command, { suggestions });
      if (command?.name === "pick") this.pick("suggestions", command.index);
      else if (command?.name === "no_suggestion") {
        this.feedback.show(`No suggestion ${command.rank} to insert.`, { error: true });
      } else if (command?.name === "focus_panel") {
        window.focus();
        this.root.tabIndex = -1;
        this.root.focus();
      }
    }
  }

  toggleHelp(show = this.help.hidden) {
    this.help.hidden = !show;
  }

  /** Picks item `index` of the suggestions (`list` = "suggestions") or search results. */
  pick(list, index) {
    const item = listItems(this.state, list)[index];
    if (!item) return;
    // Start the copy first, while the keypress still counts as a user gesture.
    const copied = copyText(item.body ?? "");
    const conversation = activeConversation(this.state);
    this.update({ type: "pick", list, index, clientId: newClientId(), now: performance.now() });
    this.renderLists();

    // The reply box's owner sends `pick` with the reply, edited or not (docs/protocol.md).
    const pick = activeConversation(this.state)?.lastPick?.pick ?? null;
    // `conversation`: the reply box refuses a pick for another chat than the one it shows.
    const detail = {
      conversation: conversation?.id ?? null,
      customer: conversation ? conversationLabel(conversation) : "",
      key: item.key,
      text: item.body ?? "",
      pick,
    };
    window.dispatchEvent(new CustomEvent("assist:pick", { detail }));
    if (this.embedded) window.parent.postMessage({ type: "assist:pick", ...detail }, "*");

    copied.then((ok) =>
      this.feedback.show(ok ? "Copied" : "Could not copy: select the text and copy it by hand.", {
        error: !ok,
      }),
    );
  }

  dismiss() {
    if (!this.update({ type: "dismiss", clientId: newClientId() })) return;
    this.renderSuggestions();
    this.feedback.show("Suggestions dismissed: press u to bring them back.");
  }

  /** "Not this one" on suggestion `index`: feedback for review and metrics, nothing inserted. */
  reject(index) {
    const event = { type: "reject", index, clientId: newClientId(), now: performance.now() };
    if (this.update(event)) this.renderSuggestions();
  }

  moveHighlight(list, step) {
    if (!this.update({ type: "move_highlight", list, step })) return;
    this.renderLists();
    const listNode = list === "search" ? this.dom.searchResults : this.dom.suggestions;
    listNode.querySelector(".highlighted")?.scrollIntoView({ block: "nearest" });
  }

  onSearchInput() {
    clearTimeout(this.searchDebounce);
    this.update({ type: "pick_on_arrival", value: false });
    this.searchDebounce = setTimeout(() => this.sendSearch(), SEARCH_DEBOUNCE_MS);
  }

  sendSearch() {
    clearTimeout(this.searchDebounce);
    const query = this.dom.search.value.trim();
    this.update({ type: "query", query, requestId: newClientId() });
    if (!query) this.renderSearch();
  }

  /** Enter in the search field: pick the highlighted result, or the first one to come. */
  searchEnter() {
    const query = this.dom.search.value.trim();
    if (!query) return;
    const search = this.state.search;
    if (searchAnswered(search) && query === search.query) {
      if (search.items.length > 0) this.pick("search", Math.max(0, search.highlight));
    } else {
      // Typed faster than the results came back: pick the first one when they arrive.
      if (query !== search.query) this.sendSearch();
      this.update({ type: "pick_on_arrival", value: true });
    }
  }

  closeSearch() {
    clearTimeout(this.searchDebounce);
    this.dom.search.value = "";
    this.update({ type: "clear_search" });
    this.renderSearch();
    this.dom.search.blur();
  }

  /** The agent's choice of the conversation's language ("" hands it back to detection); the
   * server answers with a `language` frame and the list again, in that language. */
  setLanguage(code) {
    const conversation = activeConversation(this.state);
    if (this.readOnly || !conversation) return;
    this.socket.send({
      type: "language",
      conversation: conversation.id,
      language: code,
      client_id: newClientId(),
    });
  }

  /** Closes (resolves) the active chat; the server's answer removes its tab. */
  closeChat() {
    if (this.readOnly || !activeConversation(this.state)) return;
    this.update({ type: "close", clientId: newClientId() });
  }

  onKeydown(event) {
    if (!this.help.hidden && (event.key === "Escape" || event.key === "?")) {
      event.preventDefault();
      this.toggleHelp(false);
      return;
    }
    if (!isPanelKey(event)) return;
    const conversation = activeConversation(this.state);
    const command = keyCommand(event.key, keyTarget(event.target, this.dom.search), {
      suggestions: listItems(this.state, "suggestions").length,
      highlight: conversation?.highlight ?? -1,
      searching: Boolean(this.state.search.query),
      dismissed: Boolean(
        conversation?.suggestions && conversation.dismissed === conversation.suggestions.suggestion,
      ),
    });
    if (!command) return;
    if (command.prevent) event.preventDefault();
    switch (command.name) {
      case "pick":
        this.pick("suggestions", command.index);
        break;
      case "move":
        this.moveHighlight(command.list, command.step);
        break;
      case "dismiss":
        this.dismiss();
        break;
      case "reject":
        this.reject(command.index);
        break;
      case "close_search":
        this.closeSearch();
        break;
      case "search_enter":
        this.searchEnter();
        break;
      case "help":
        this.toggleHelp();
        break;
      case "undo_dismiss":
        if (this.update({ type: "undo_dismiss" })) this.renderSuggestions();
        break;
      case "focus_search":
        this.dom.search.focus();
        this.dom.search.select();
        break;
      case "cycle_tab":
        this.activate({ type: "cycle_tab", step: command.step });
        break;
      case "close_chat":
        this.closeChat();
        break;
      case "blur":
        event.target.blur();
        break;
      default:
    }
  }

  // --- Drawing --------------------------------------------------------------------------------

  render() {
    renderTabs(this.dom.tabs, this.state);
    fitTabs(this.dom.tabs, this.dom.moreTabs);
    this.renderConversationBar();
    this.renderStatus();
    this.renderMessages();
    this.renderLists();
  }

  renderConversationBar() {
    const conversation = activeConversation(this.state);
    this.dom.conversationBar.hidden = !conversation;
    this.dom.conversationName.textContent = conversation ? conversationLabel(conversation) : "";
    this.dom.closeChat.hidden = this.readOnly || !conversation;
    renderLanguage(this.dom, conversation, this.readOnly);
  }

  renderStatus() {
    renderStatus(this.dom.status, this.state);
  }

  renderMessages() {
    renderMessages(this.dom.messages, this.state);
  }

  /** Redraws the messages when those of the active conversation differ from `before`'s. */
  renderMessagesIfChanged(before) {
    const previous = activeConversation(before)?.messages;
    if (activeConversation(this.state)?.messages !== previous) this.renderMessages();
  }

  renderLists() {
    renderSuggestions(this.dom, this.state, this.onPick, this.rejectHandler());
    this.renderSearch();
  }

  /** The "not this one" buttons' handler; none in a read-only (supervisor's) panel. */
  rejectHandler() {
    return this.readOnly ? null : this.onReject;
  }

  renderSuggestions() {
    renderSuggestions(this.dom, this.state, this.onPick, this.rejectHandler());
    this.update({ type: "shown", now: performance.now() });
  }

  renderSearch() {
    renderSearch(this.dom, this.state, this.onPick);
    // A list's time to pick counts from when it was first drawn.
    this.update({ type: "shown", now: performance.now() });
  }
}

function parseConversationParam(value) {
  if (value === null || value.trim() === "") return null;
  return /^\d+$/.test(value.trim()) ? Number(value.trim()) : value.trim();
}

/** The tab's sessionStorage, where unacknowledged frames outlive a page load; null where the
 * browser refuses it (storage blocked for a framed page), which leaves them in memory only. */
function sessionStorageOrNull() {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

function main() {
  const root = byId("assist-panel");
  if (!root) return;
  const params = new URLSearchParams(window.location.search);
  const embed = params.get("embed") === "1";
  const framed = window.parent !== window;
  root.classList.toggle("embed", embed);

  const socket = new AssistSocket(root.dataset.wsPath || "/ws/assist/", {
    storage: sessionStorageOrNull(),
  });
  const panel = new Panel(root, socket, {
    focusConversation: parseConversationParam(params.get("conversation")),
    embedded: embed || framed,
  });

  if (embed && framed) {
    // The extension's side panel frames this page, where the session cookie may not reach the
    // socket: it can hand over the agent's token (never through the URL; see docs/protocol.md).
    window.addEventListener("message", (event) => {
      const data = event.data;
      if (event.source !== window.parent || !data) return;
      if (data.type !== "assist:auth") panel.onHostMessage(data);
      else if (typeof data.token === "string" && data.token) socket.authenticate(data.token);
    });
    window.parent.postMessage({ type: "assist:panel-ready" }, "*");
  }
  panel.start();
}

main();
