// The panel's state: its shape and the questions views ask of it. Only reduce.js makes a new
// one; nothing here touches the DOM, so tests/js/ runs it under node.

export function initialState() {
  return {
    conversations: new Map(), // String(id) -> conversation, in tab order
    activeKey: null,
    assistAvailable: true,
    // client_id -> {list, conversation, shown, key}: a pick mark waiting for its ack. `shown`
    // names the list it was made on (a seq, or a search request), so that the ack of a pick on a
    // list that has since been replaced marks nothing on the new one.
    pendingPicks: new Map(),
    search: {
      query: "",
      requestId: null, // the latest request; older answers are dropped
      shownFor: null, // the request whose results are shown
      items: [],
      shownAt: null,
      highlight: 0,
      picks: new Map(),
      pickOnArrival: false,
    },
    effects: [], // what the change that made this state asks of the outside world
  };
}

export function newConversation(id) {
  return {
    id,
    externalId: null,
    customerName: null,
    status: null,
    messages: [],
    suggestions: null, // the latest accepted `suggestions` body
    suggestionsEnabled: true, // false in an experiment's control arm: none will come
    shownAt: null, // when that list was first on screen (the clock of the `shown` event)
    dismissed: null, // suggestion id the agent dismissed
    highlight: -1,
    picks: new Map(), // template key -> "picked" | "saved" | "rejected", for the list shown
    lastPick: null, // {key, text, pick}: the reply after it carries `pick` (its reference)
    unseen: false,
    refreshedFor: new Set(), // customer message ids we re-subscribed to learn about
  };
}

// --- Selectors ----------------------------------------------------------------------------------

export function activeConversation(state) {
  return state.activeKey === null ? null : (state.conversations.get(state.activeKey) ?? null);
}

export function conversationLabel(conversation) {
  return conversation.customerName || conversation.externalId || `#${conversation.id}`;
}

/** The suggestions frame on screen, or null when there is none, it is empty or dismissed. */
export function visibleSuggestions(conversation) {
  const frame = conversation?.suggestions;
  if (!frame || frame.suggestion === conversation.dismissed) return null;
  return frame.items.length === 0 ? null : frame;
}

/** Items of the active conversation's suggestions (`list` = "suggestions") or of the search. */
export function listItems(state, list) {
  if (list === "search") return state.search.items;
  return visibleSuggestions(activeConversation(state))?.items ?? [];
}

/** Whether the results on screen answer the latest search request. */
export function searchAnswered(search) {
  return search.shownFor !== null && search.shownFor === search.requestId;
}

