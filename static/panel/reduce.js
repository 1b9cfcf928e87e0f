// Every change to the panel's state: `reduce(state, event)` returns the next state and never
// touches the DOM, the socket, timers or the clock (events carry the ids and times they need), so
// tests/js/ runs it under node. What a change asks of the outside world (a frame to send, a
// conversation to subscribe to) comes back in the new state's `effects`; panel.js performs them.
//
// Events are the server's frames as they arrive (`ready`, `state`, `suggestions`,
// `search_results`, `ack`, `status`, `error`) and the agent's actions (HANDLERS below).
// A state is never changed in place; an event that changes nothing returns the same object.

import { acceptsSuggestions, isRetriable } from "./protocol.js";
import { activeConversation, listItems, newConversation, visibleSuggestions } from "./state.js";

const MAX_MESSAGES = 50;

// --- Helpers: new objects, never changed ones (ensure() fills a Map its caller just copied) ---

function withConversation(state, key, changes) {
  const conversations = new Map(state.conversations);
  conversations.set(key, { ...conversations.get(key), ...changes });
  return { ...state, conversations };
}

function ensure(conversations, id) {
  const key = String(id);
  if (!conversations.has(key)) conversations.set(key, newConversation(id));
  return conversations.get(key);
}

function withNames(conversation, info) {
  return {
    ...conversation,
    externalId: info.external_id ?? conversation.externalId,
    customerName: info.customer_name ?? conversation.customerName,
    // {code, source, in_model}: the conversation's language (docs/protocol.md).
    language: info.language ?? conversation.language ?? null,
  };
}

function applySuggestions(state, conversation, frame) {
  return {
    ...conversation,
    language: frame.language ?? conversation.language ?? null,
    suggestions: frame,
    shownAt: null,
    picks: new Map(),
    highlight: frame.items[0]?.confident ? 0 : -1,
    unseen: conversation.unseen || String(conversation.id) !== state.activeKey,
  };
}

function setAvailable(state, available) {
  return state.assistAvailable === available ? state : { ...state, assistAvailable: available };
}

/** Marks (`mark` = "saved") or unmarks (null) a pending pick, once its answer comes. */
function settlePick(state, clientId, mark) {
  const pending = state.pendingPicks.get(clientId);
  const pendingPicks = new Map(state.pendingPicks);
  pendingPicks.delete(clientId);
  const next = { ...state, pendingPicks };
  const mend = (picks) => {
    const copy = new Map(picks);
    if (mark) copy.set(pending.key, mark);
    else copy.delete(pending.key);
    return copy;
  };
  if (pending.list === "search") {
    if (state.search.shownFor !== pending.shown) return next;
    return { ...next, search: { ...next.search, picks: mend(next.search.picks) } };
  }
  const conversation = state.conversations.get(pending.conversation);
  if (conversation?.suggestions?.seq !== pending.shown) return next;
  return withConversation(next, pending.conversation, { picks: mend(conversation.picks) });
}

function clearedSearch(search) {
  return {
    ...search,
    query: "",
    requestId: null,
    shownFor: null,
    items: [],
    highlight: 0,
    pickOnArrival: false,
  };
}

function activate(state, key) {
  const conversation = state.conversations.get(String(key));
  if (!conversation || state.activeKey === String(key)) return state;
  return withConversation({ ...state, activeKey: String(key) }, String(key), { unseen: false });
}

// --- Server frames --------------------------------------------------------------------------

function onReady(state, frame) {
  const conversations = new Map(state.conversations);
  const effects = [];
  for (const item of frame.conversations ?? []) {
    const conversation = ensure(conversations, item.id);
    conversations.set(String(item.id), withNames(conversation, item));
    effects.push({ type: "subscribe", conversation: item.id });
  }
  let { activeKey } = state;
  if (activeConversation(state) === null && conversations.size > 0) {
    activeKey = conversations.keys().next().value;
  }
  return { ...state, conversations, activeKey, effects };
}

function onState(state, frame) {
  const info = frame.conversation;
  if (!info || info.id === undefined) return state;
  // A closed conversation holds no tab, even one the page was opened on.
  if (info.status === "closed") return onClosed(state, { conversation: info.id });
  const conversations = new Map(state.conversations);
  let conversation = withNames(ensure(conversations, info.id), info);
  conversation.status = info.status ?? conversation.status;
  if (typeof frame.suggestions_enabled === "boolean") {
    conversation.suggestionsEnabled = frame.suggestions_enabled;
  }
  if (Array.isArray(frame.messages)) {
    conversation.messages = frame.messages.slice(-MAX_MESSAGES);
  }
  const suggestions = frame.suggestions;
  if (suggestions && relanguaged(conversation, suggestions)) {
    conversation = relanguage(conversation, suggestions);
  } else if (
    suggestions &&
    acceptsSuggestions(conversation.id, conversation.suggestions?.seq ?? null, suggestions)
  ) {
    conversation = applySuggestions(state, conversation, suggestions);
  }
  conversations.set(String(info.id), conversation);
  let next = { ...state, conversations };
  if (typeof frame.assist_available === "boolean") {
    next = setAvailable(next, frame.assist_available);
  }
  if (activeConversation(next) === null) next = { ...next, activeKey: String(conversation.id) };
  return next;
}

/** Whether `frame` is the list on screen again, rendered in another language (the agent or
 * the helpdesk changed the conversation's): the same seq, other texts. */
function relanguaged(conversation, frame) {
  const shown = conversation.suggestions;
  return (
    shown !== null &&
    Array.isArray(frame.items) &&
    frame.seq === shown.seq &&
    String(frame.conversation) === String(conversation.id) &&
    (frame.language?.code ?? "") !== (shown.language?.code ?? "")
  );
}

/** The list on screen with `frame`'s texts: what the agent picked and the time to pick stay. */
function relanguage(conversation, frame) {
  return { ...conversation, suggestions: frame, language: frame.language ?? conversation.language };
}

function onSuggestions(state, frame) {
  const key = String(frame.conversation);
  const conversation = state.conversations.get(key);
  if (!conversation) return state; // not one of ours
  if (relanguaged(conversation, frame)) {
    return withConversation(state, key, relanguage(conversation, frame));
  }
  if (!acceptsSuggestions(conversation.id, conversation.suggestions?.seq ?? null, frame)) {
    return state;
  }
  let changed = applySuggestions(state, conversation, frame);
  const effects = [];
  // The ranking answers a customer message this panel has not seen (it came in through the
  // helpdesk, not this panel): subscribing again makes the server answer with a fresh `state`.
  const known = conversation.messages.some((m) => m.id === frame.message);
  if (frame.message != null && !known && !conversation.refreshedFor.has(frame.message)) {
    changed = { ...changed, refreshedFor: new Set(conversation.refreshedFor).add(frame.message) };
    effects.push({ type: "refresh", conversation: conversation.id });
  }
  const next = setAvailable(withConversation(state, key, changed), true);
  return { ...next, effects };
}

function onSearchResults(state, frame) {
  if (frame.request_id !== state.search.requestId || !Array.isArray(frame.items)) return state;
  const search = {
    ...state.search,
    shownFor: frame.request_id,
    items: frame.items,
    shownAt: null,
    highlight: 0,
    picks: new Map(),
  };
  return { ...state, search };
}

function onAck(state, frame) {
  if (frame.kind === "close") return onClosed(state, { conversation: frame.id });
  if (frame.kind === "pick" && state.pendingPicks.has(frame.client_id)) {
    return settlePick(state, frame.client_id, "saved");
  }
  if (frame.kind === "reject" && state.pendingPicks.has(frame.client_id)) {
    return settlePick(state, frame.client_id, "rejected");
  }
  return state;
}

/** The conversation's language changed (detected, or set by the helpdesk or an agent). */
function onLanguage(state, frame) {
  const key = String(frame.conversation);
  const conversation = state.conversations.get(key);
  if (!conversation || !frame.language) return state;
  return withConversation(state, key, { ...conversation, language: frame.language });
}

function onStatus(state, frame) {
  if (typeof frame.assist_available !== "boolean") return state;
  return setAvailable(state, frame.assist_available);
}

function onError(state, frame) {
  // "Not now" (retriable): the socket sends the frame again until it is acknowledged
  // (protocol.js), so the pick stays pending; nothing has failed.
  if (!frame.client_id || isRetriable(frame) || !state.pendingPicks.has(frame.client_id)) {
    return state;
  }
  return settlePick(state, frame.client_id, null);
}

// --- The agent's actions --------------------------------------------------------------------

/** The conversation the page was opened on (`?conversation=`): a tab, active, subscribed. */
function onFocus(state, { conversation: id }) {
  const conversations = new Map(state.conversations);
  ensure(conversations, id);
  const effects = [{ type: "subscribe", conversation: id }];
  return { ...state, conversations, activeKey: String(id), effects };
}

function onCycleTab(state, { step }) {
  const keys = [...state.conversations.keys()];
  if (keys.length === 0) return state;
  const index = keys.indexOf(state.activeKey);
  return activate(state, keys[(index + step + keys.length) % keys.length]);
}

/** Item `index` of a list (`list` = "suggestions" or "search") copied into the reply. */
function onPick(state, { list, index, clientId, now }) {
  const conversation = activeConversation(state);
  const fromSearch = list === "search";
  const frame = fromSearch ? null : visibleSuggestions(conversation);
  const item = listItems(state, list)[index];
  if (!item) return state;

  const owner = fromSearch ? state.search : conversation;
  const picks = new Map(owner.picks);
  if (picks.get(item.key) !== "saved") picks.set(item.key, "picked");
  let next = fromSearch
    ? { ...state, search: { ...state.search, picks, highlight: index } }
    : withConversation(state, state.activeKey, { picks, highlight: index });
  if (!conversation) return next; // nothing to log the pick against

  const shownAt = owner.shownAt ?? now;
  const pick = {
    type: "pick",
    conversation: conversation.id,
    suggestion: fromSearch ? null : frame.suggestion,
    template: item.key,
    rank: fromSearch ? null : index + 1,
    action: "inserted",
    client_id: clientId,
    time_to_pick_ms: Math.max(0, Math.round(now - shownAt)),
  };
  const pendingPicks = new Map(next.pendingPicks).set(clientId, {
    list: fromSearch ? "search" : "suggestions",
    conversation: state.activeKey,
    shown: fromSearch ? state.search.shownFor : frame.seq,
    key: item.key,
  });
  next = withConversation({ ...next, pendingPicks }, state.activeKey, {
    lastPick: { key: item.key, text: item.body ?? "", pick: pickReference(pick) },
  });
  return { ...next, effects: [{ type: "send", frame: pick }] };
}

/** What a reply sent after `pick` (a pick frame) carries, so that the server stores the reply
 * with its template however much the agent edits it (docs/protocol.md, `message`). */
export function pickReference(pick) {
  return { client_id: pick.client_id, template: pick.template, suggestion: pick.suggestion };
}

/** "Not this one": suggestion `index` of the active list, marked at once and sent. */
function onReject(state, { index, clientId, now }) {
  const conversation = activeConversation(state);
  const frame = visibleSuggestions(conversation);
  const item = frame?.items[index];
  if (!item || conversation.picks.get(item.key) === "rejected") return state;
  const picks = new Map(conversation.picks).set(item.key, "rejected");
  const reject = {
    type: "pick",
    conversation: conversation.id,
    suggestion: frame.suggestion,
    template: item.key,
    rank: index + 1,
    action: "rejected",
    client_id: clientId,
    time_to_pick_ms: Math.max(0, Math.round(now - (conversation.shownAt ?? now))),
  };
  const pendingPicks = new Map(state.pendingPicks).set(clientId, {
    list: "suggestions",
    conversation: state.activeKey,
    shown: frame.seq,
    key: item.key,
  });
  const next = withConversation({ ...state, pendingPicks }, state.activeKey, { picks });
  return { ...next, effects: [{ type: "send", frame: reject }] };
}

function onDismiss(state, { clientId }) {
  const conversation = activeConversation(state);
  const frame = visibleSuggestions(conversation);
  if (!frame) return state;
  const dismiss = {
    type: "dismiss",
    conversation: conversation.id,
    suggestion: frame.suggestion,
    client_id: clientId,
  };
  const next = withConversation(state, state.activeKey, { dismissed: frame.suggestion });
  return { ...next, effects: [{ type: "send", frame: dismiss }] };
}

/** Esc's way back: the dismissed list on screen again. The dismissal stays recorded (the
 * agent did dismiss it); a pick from the list after that is recorded as usual. */
function onUndoDismiss(state) {
  const conversation = activeConversation(state);
  if (!conversation?.suggestions || conversation.dismissed !== conversation.suggestions.suggestion) {
    return state;
  }
  return withConversation(state, state.activeKey, { dismissed: null });
}

function onMoveHighlight(state, { list, step }) {
  const items = listItems(state, list);
  const target = list === "search" ? state.search : activeConversation(state);
  if (!target || items.length === 0) return state;
  const from = target.highlight < 0 ? (step > 0 ? -1 : items.length) : target.highlight;
  const highlight = Math.max(0, Math.min(items.length - 1, from + step));
  if (list === "search") return { ...state, search: { ...state.search, highlight } };
  return withConversation(state, state.activeKey, { highlight });
}

/** A search for `query` (already trimmed) as request `requestId`; an empty one clears it. */
function onQuery(state, { query, requestId }) {
  if (!query) return onClearSearch(state);
  const search = { ...state.search, query, requestId };
  const frame = { type: "search", query, request_id: requestId };
  const conversation = activeConversation(state);
  if (conversation) frame.conversation = conversation.id;
  return { ...state, search, effects: [{ type: "send", frame }] };
}

function onClearSearch(state) {
  return { ...state, search: clearedSearch(state.search) };
}

function onPickOnArrival(state, { value }) {
  if (state.search.pickOnArrival === value) return state;
  return { ...state, search: { ...state.search, pickOnArrival: value } };
}

/** The lists on screen were drawn at `now`: the start of their time to pick. */
function onShown(state, { now }) {
  let next = state;
  const conversation = activeConversation(state);
  if (visibleSuggestions(conversation) && conversation.shownAt === null) {
    next = withConversation(next, state.activeKey, { shownAt: now });
  }
  if (state.search.shownFor !== null && state.search.shownAt === null) {
    next = { ...next, search: { ...next.search, shownAt: now } };
  }
  return next;
}

/** The agent closes (resolves) the active conversation; its tab goes when the server says so
 * (`ack` of kind "close", or `closed`), so a refused close leaves it where it was. */
function onClose(state, { clientId }) {
  const conversation = activeConversation(state);
  if (!conversation) return state;
  const frame = { type: "close", conversation: conversation.id, client_id: clientId };
  return { ...state, effects: [{ type: "send", frame }] };
}

/** A conversation was closed (here or anywhere): its tab goes, the next one becomes active. */
function onClosed(state, { conversation: id }) {
  const key = String(id);
  if (!state.conversations.has(key)) return state;
  const keys = [...state.conversations.keys()];
  const conversations = new Map(state.conversations);
  conversations.delete(key);
  let next = { ...state, conversations };
  if (state.activeKey === key) {
    const index = keys.indexOf(key);
    const neighbour = keys[index + 1] ?? keys[index - 1] ?? null;
    next = { ...next, activeKey: null };
    if (neighbour !== null) next = activate(next, neighbour);
  }
  return { ...next, effects: [{ type: "unsubscribe", conversation: id }] };
}

const HANDLERS = new Map([
  ["ready", onReady],
  ["state", onState],
  ["suggestions", onSuggestions],
  ["language", onLanguage],
  ["search_results", onSearchResults],
  ["ack", onAck],
  ["status", onStatus],
  ["error", onError],
  ["focus", onFocus],
  ["activate", (state, { conversation }) => activate(state, conversation)],
  ["cycle_tab", onCycleTab],
  ["pick", onPick],
  ["reject", onReject],
  ["dismiss", onDismiss],
  ["undo_dismiss", onUndoDismiss],
  ["move_highlight", onMoveHighlight],
  ["query", onQuery],
  ["clear_search", onClearSearch],
  ["pick_on_arrival", onPickOnArrival],
  ["shown", onShown],
  ["close", onClose],
  ["closed", onClosed],
]);

export function reduce(state, event) {
  const handle = HANDLERS.get(event?.type);
  const next = handle ? handle(state, event) : state;
  if (next === state) return state;
  // Effects belong to the change that asked for them, never to the next one.
  return next.effects === state.effects ? { ...next, effects: [] } : next;
}
