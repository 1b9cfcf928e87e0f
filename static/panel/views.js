// The panel's header, tabs, status line, latest messages and feedback line, drawn from the
// state (reduce.js). Text only: see the note in dom.js.

import { el } from "./dom.js";
import { KEY_HELP } from "./keys.js";
import { activeConversation, conversationLabel } from "./state.js";

const UNAVAILABLE_TEXT = "Suggestions are unavailable right now — search still works";
const CONTEXT_MESSAGES = 5;
const FEEDBACK_MS = 2_500;

/** The socket's `connection` event: {state, attempt, final}. */
export function renderConnection(node, { state, attempt, final }) {
  node.dataset.state = state;
  if (state === "open") node.textContent = "connected";
  else if (final) node.textContent = "disconnected";
  else if (state === "connecting" && attempt === 0) node.textContent = "connecting…";
  else node.textContent = "reconnecting…";
}

export function renderTabs(node, state) {
  const tabs = [];
  for (const [key, conversation] of state.conversations) {
    const tab = el("button", "tab", conversationLabel(conversation));
    tab.type = "button";
    tab.setAttribute("role", "tab");
    tab.dataset.conversation = key;
    const selected = key === state.activeKey;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    tab.classList.toggle("active", selected);
    tab.classList.toggle("unseen", conversation.unseen);
    tab.classList.toggle("closed", conversation.status === "closed");
    if (conversation.externalId) tab.title = conversation.externalId;
    if (conversation.unseen) tab.append(el("span", "visually-hidden", " (new suggestions)"));
    tabs.push(tab);
  }
  node.replaceChildren(...tabs);
}

export function renderStatus(node, state) {
  const unavailable = !state.assistAvailable;
  const text = unavailable ? UNAVAILABLE_TEXT : "";
  if (node.textContent !== text) node.textContent = text; // no repeat announcements
  node.classList.toggle("unavailable", unavailable);
}

export function renderMessages(node, state) {
  const messages = activeConversation(state)?.messages.slice(-CONTEXT_MESSAGES) ?? [];
  const rows = messages.map((message) => {
    const li = el("li", `message role-${message.role === "agent" ? "agent" : "customer"}`);
    li.append(el("span", "role", message.role === "agent" ? "Agent" : "Customer"));
    li.append(el("span", "text", message.text));
    return li;
  });
  node.replaceChildren(...rows);
}

/** The line under the lists: "Copied", or what went wrong. */
export class FeedbackLine {
  constructor(node) {
    this.node = node;
    this.timer = null;
  }

  show(text, { error = false, sticky = false } = {}) {
    const node = this.node;
    node.textContent = text;
    node.classList.toggle("error", error);
    clearTimeout(this.timer);
    if (!sticky) {
      this.timer = setTimeout(() => {
        node.textContent = "";
        node.classList.remove("error");
      }, FEEDBACK_MS);
    }
  }
}

/** The `?` overlay: the key map of keys.js, built once; panel.js shows and hides it. */
export function keyHelp() {
  const box = el("div", "key-help");
  box.id = "key-help";
  box.hidden = true;
  box.setAttribute("role", "dialog");
  box.setAttribute("aria-label", "Keyboard shortcuts");
  box.append(el("h2", "key-help-title", "Keys"));
  const list = el("dl", "key-help-list");
  for (const [keys, what] of KEY_HELP) list.append(el("dt", "", keys), el("dd", "", what));
  box.append(list, el("p", "muted", "Esc or ? closes this list."));
  return box;
}

// The languages an agent can choose; another code set by the helpdesk is shown as it is.
const LANGUAGE_NAMES = {
  en: "English",
  es: "Spanish",
  de: "German",
  fr: "French",
  it: "Italian",
  pt: "Portuguese",
  nl: "Dutch",
};

function languageName(code) {
  return LANGUAGE_NAMES[code] ?? LANGUAGE_NAMES[code.split("-")[0]] ?? code;
}

/** The conversation's language selector ("Auto" while detection decides) and the note that the
 * conversation is in a language the suggestion model was not trained on. */
export function renderLanguage(dom, conversation, readOnly) {
  const language = conversation?.language ?? null;
  const code = language?.code ?? "";
  const chosen = code && language.source !== "detected" ? code : "";
  const select = dom.language;
  select.hidden = !conversation;
  select.disabled = readOnly;
  const options = [["", code && !chosen ? `Auto: ${languageName(code)}` : "Language: auto"]];
  for (const [value, name] of Object.entries(LANGUAGE_NAMES)) options.push([value, name]);
  if (chosen && !(chosen in LANGUAGE_NAMES)) options.push([chosen, chosen]);
  select.replaceChildren(
    ...options.map(([value, name]) => {
      const option = el("option", "", name);
      option.value = value;
      return option;
    }),
  );
  select.value = chosen;
  const outside = Boolean(code) && language.in_model === false;
  dom.languageNote.hidden = !outside;
  dom.languageNote.textContent = outside
    ? `The customer writes ${languageName(code)}; the suggestion model was not trained on it, ` +
      "so its ranking may be off. Search still works."
    : "";
}

const FIELD_SOURCES = {
  conversation: "from the conversation",
  agent: "from your profile",
  settings: "from the team's settings",
};

/** Where a suggestion's filled values came from (the item's `fields`, docs/protocol.md):
 * "amount £12.40 · from customer's message 14:02", the customer's own words as its tooltip. */
export function renderFields(item) {
  const fields = Array.isArray(item.fields) ? item.fields : [];
  if (fields.length === 0) return [];
  const line = el("p", "fields");
  for (const field of fields) {
    let source = FIELD_SOURCES[field.source] ?? "";
    if (field.source === "customer" && field.sent_at) {
      const time = new Date(field.sent_at).toLocaleTimeString([], {
        hour: "2-digit",
        minute: "2-digit",
      });
      source = `from customer's message ${time}`;
    }
    const span = el("span", `field field-${field.source}`);
    span.dataset.field = field.name;
    span.append(el("span", "field-name", field.name), " ", el("span", "field-value", field.value));
    span.append(el("span", "field-source", ` · ${source}`));
    span.title = field.matched ? `${source}: “${field.matched}”` : source;
    line.append(span);
  }
  return [line];
}
