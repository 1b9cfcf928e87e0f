// The demo helpdesk, agent side: polls the open conversation, renders it, sends replies.
//
// The browser extension's demo adapter reads what this renders (see helpdesk.html), so every
// message is one element carrying data-role and data-message-id (the stored client id), and
// its text is set with textContent only: message text is never parsed as HTML.
//
// With the web panel beside the chat (a frame), the two keep to one conversation: switching
// chats here opens the panel on it, switching tabs in the panel opens that chat here, and a pick
// for another chat than the one shown is refused. Alt+1…Alt+5 and Alt+Shift+S reach the panel
// from anywhere on the page (keys.js). The reply box's rules for inserted templates (a space
// between two, Tab between unfilled [[fields]], a question before sending one) are
// static/extension/adapters/reply.js, loaded by the page before this module.

import { helpdeskShortcut } from "../panel/keys.js";

const POLL_MS = 1_500;

const byId = (id) => document.getElementById(id);
const reply = () => globalThis.AssistAdapters;

function csrfToken() {
  return document.querySelector("input[name=csrfmiddlewaretoken]")?.value ?? "";
}

function messageNode(message) {
  const li = document.createElement("li");
  li.className = `hd-message hd-${message.role}`;
  li.dataset.role = message.role;
  li.dataset.messageId = message.id;
  const who = document.createElement("span");
  who.className = "hd-who";
  who.textContent = message.role === "customer" ? "Customer" : "Agent";
  const text = document.createElement("p");
  text.className = "hd-text";
  text.textContent = message.text;
  const time = document.createElement("time");
  time.className = "hd-time";
  time.dateTime = message.sent_at;
  time.textContent = new Date(message.sent_at).toLocaleTimeString([], {
    hour: "2-digit",
    minute: "2-digit",
  });
  li.append(who, text, time);
  return li;
}

/** Appends the messages the list does not show yet; existing nodes stay as they are. */
export function renderMessages(list, messages) {
  const shown = new Set([...list.children].map((li) => li.dataset.messageId));
  let added = 0;
  for (const message of messages) {
    if (shown.has(message.id)) continue;
    list.append(messageNode(message));
    added += 1;
  }
  if (added) list.scrollTop = list.scrollHeight;
  return added;
}

/** A panel's pick reference ({client_id, template, suggestion}) as the API takes it, or null. */
export function validPick(pick) {
  if (!pick || typeof pick.client_id !== "string" || typeof pick.template !== "string") {
    return null;
  }
  const suggestion = Number.isInteger(pick.suggestion) ? pick.suggestion : null;
  return { client_id: pick.client_id, template: pick.template, suggestion };
}

class Helpdesk {
  constructor(root) {
    this.root = root;
    this.conversationId = root.dataset.conversation;
    this.list = byId("hd-messages");
    this.reply = byId("hd-reply");
    this.status = byId("hd-reply-status");
    // {key, text, pick}: the last template inserted; the reply carries its pick reference
    // (docs/protocol.md), edited or not, and the server decides whether it counts as sent.
    this.lastPick = null;
    this.polling = null;
  }

  start() {
    byId("hd-reply-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.reply.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.send();
      } else if (event.key === "Tab" && !event.ctrlKey && !event.altKey && !event.metaKey) {
        // Tab / Shift+Tab: the next / previous unfilled field; with none, Tab leaves the box.
        // Taken already when the extension's content script moved to the field first.
        if (event.defaultPrevented) return;
        if (this.selectField(event.shiftKey ? -1 : 1)) event.preventDefault();
      }
    });
    // The extension's content script announces what it inserted (it never sends by itself).
    this.reply.addEventListener("assist:inserted", (event) => {
      let detail = event.detail;
      try {
        detail = typeof detail === "string" ? JSON.parse(detail) : detail;
      } catch {
        return;
      }
      if (detail?.key && typeof detail.text === "string") {
        this.lastPick = { key: detail.key, text: detail.text, pick: validPick(detail.pick) };
      }
    });
    byId("hd-copy-link")?.addEventListener("click", () => this.copyCustomerLink());
    this.poll();
    this.polling = setInterval(() => this.poll(), POLL_MS);
  }

  async poll() {
    try {
      const response = await fetch(`/demo/helpdesk/conversations/${this.conversationId}`, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const body = await response.json();
      renderMessages(this.list, body.messages);
      if (this.status.dataset.kind === "offline") this.setStatus("");
    } catch {
      this.setStatus("Offline: retrying…", "offline");
    }
  }

  async send() {
    const text = this.reply.value;
    if (!text.trim()) return;
    const question = reply().unfilledQuestion(text);
    // The browser's own dialog: modal, keyboard-driven, read by screen readers.
    if (question && !window.confirm(question)) {
      this.reply.focus(); // back to the reply, its first unfilled field selected
      this.selectField(1, 0);
      return;
    }
    const payload = { role: "agent", text, client_id: crypto.randomUUID() };
    if (this.lastPick?.pick) {
      payload.pick = this.lastPick.pick; // however much the agent edited it
    } else if (this.lastPick && this.lastPick.text.trim() === text.trim()) {
      // No pick to refer to (an older panel): only an unedited reply names its template.
      payload.template = this.lastPick.key;
    }
    byId("hd-send").disabled = true;
    try {
      const response = await fetch(`/api/conversations/${this.conversationId}/messages`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(payload),
      });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        throw new Error(body.detail || `HTTP ${response.status}`);
      }
      this.reply.value = "";
      this.lastPick = null;
      this.setStatus("");
      await this.poll();
    } catch (error) {
      this.setStatus(`Not sent: ${error.message}`, "error");
    } finally {
      byId("hd-send").disabled = false;
      this.reply.focus();
    }
  }

  /** Puts text at the reply box's cursor, replacing any selection, with a space where it would
   * touch the text around it; selects its first unfilled field, if any. Never sends. Refused,
   * with a message, when `conversation` (the pick's) is not the chat on screen. */
  insert(text, key, pick = null, { conversation = null, customer = "" } = {}) {
    if (conversation != null && String(conversation) !== String(this.conversationId)) {
      const shown = byId("hd-conversation")?.querySelector(".hd-customer-name")?.textContent;
      const whose = customer ? `${customer}'s chat` : "another chat";
      this.setStatus(
        `Not inserted: that suggestion is for ${whose}, and this is ${shown || "another"}'s.`,
        "error",
      );
      return false;
    }
    const box = this.reply;
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? start;
    const value = box.value;
    const piece = reply().separated(value.slice(0, start), text, value.slice(end));
    box.setRangeText(piece, start, end, "end");
    box.dispatchEvent(new Event("input", { bubbles: true }));
    box.focus();
    this.selectField(1, start, start + piece.length);
    if (key) this.lastPick = { key, text, pick: validPick(pick) };
    if (this.status.dataset.kind === "error") this.setStatus("");
    return true;
  }

  /** Selects the next (`step` 1) or previous (-1) unfilled field from the selection, or from
   * `from`; with `within` set, only a field that ends by then (the text just inserted).
   * False when there is none. */
  selectField(step, from = null, within = null) {
    const box = this.reply;
    const start = from ?? box.selectionStart;
    const end = from ?? box.selectionEnd;
    const field = reply().nextField(box.value, start, end, step);
    if (!field || (within !== null && (field.start < start || field.end > within))) return false;
    box.setSelectionRange(field.start, field.end);
    return true;
  }

  async copyCustomerLink() {
    const url = new URL(byId("hd-customer-url").getAttribute("href"), location.href).href;
    try {
      await navigator.clipboard.writeText(url);
      this.setStatus("Customer link copied");
    } catch {
      this.setStatus(url);
    }
  }

  setStatus(text, kind = "") {
    this.status.textContent = text;
    this.status.dataset.kind = kind;
  }
}

/** The web panel in a frame beside the chat: its picks land in the reply box. */
function setupPanel(helpdesk) {
  const aside = byId("hd-panel");
  const toggle = byId("hd-show-panel");
  if (!aside || !toggle) return;
  const STORE = "assist-demo-show-panel";
  let frame = null;

  const show = (on) => {
    aside.hidden = !on;
    document.body.classList.toggle("hd-with-panel", on);
    if (on && !frame) {
      frame = document.createElement("iframe");
      frame.className = "hd-panel-frame";
      frame.title = "Agent assist panel";
      frame.allow = "clipboard-write";
      frame.src = aside.dataset.src;
      aside.append(frame);
    }
  };
  window.addEventListener("message", (event) => {
    const data = event.data;
    if (!frame || event.source !== frame.contentWindow || event.origin !== location.origin) return;
    if (data?.type === "assist:pick" && typeof data.text === "string") {
      helpdesk.insert(data.text, data.key, data.pick, {
        conversation: data.conversation,
        customer: typeof data.customer === "string" ? data.customer : "",
      });
    } else if (data?.type === "assist:active" && data.conversation != null) {
      // The agent switched tabs in the panel: this page shows that chat (and keeps the panel's
      // keyboard focus, where the agent was).
      if (String(data.conversation) !== String(helpdesk.conversationId)) {
        location.assign(`?c=${encodeURIComponent(data.conversation)}&focus=panel`);
      }
    }
  });
  // Alt+1…Alt+5 pick and Alt+Shift+S focuses the panel, wherever the focus is on this page.
  document.addEventListener(
    "keydown",
    (event) => {
      const command = helpdeskShortcut(event);
      if (!command) return;
      event.preventDefault();
      if (!frame || aside.hidden) {
        helpdesk.setStatus("The panel is hidden: tick “Web panel beside the chat”.", "error");
        return;
      }
      if (command === "focus-panel") frame.focus();
      frame.contentWindow.postMessage({ type: "assist:command", command }, location.origin);
    },
    true,
  );
  toggle.checked = localStorage.getItem(STORE) !== "0";
  toggle.addEventListener("change", () => {
    localStorage.setItem(STORE, toggle.checked ? "1" : "0");
    show(toggle.checked);
  });
  show(toggle.checked);
  if (frame && new URLSearchParams(location.search).get("focus") === "panel") {
    frame.addEventListener("load", () => frame.focus(), { once: true });
  }
}

/** The demo's "write as the customer" box: posts through the customer's signed link (as the
 * customer window does), so one window can play both sides. Nothing like it is in the panel. */
function setupCustomerComposer(helpdesk) {
  const form = byId("hd-as-customer");
  const input = byId("hd-as-customer-text");
  if (!form || !input) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    // Generated once per message, so a retried post is stored once.
    const body = new URLSearchParams({ text, client_id: crypto.randomUUID() });
    try {
      const response = await fetch(form.dataset.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken() },
        body,
      });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(answer.detail || `HTTP ${response.status}`);
      input.value = "";
      await helpdesk.poll();
    } catch (error) {
      helpdesk.setStatus(`Not posted: ${error.message}`, "error");
    }
  });
}

function main() {
  const root = byId("hd-conversation");
  if (!root) return;
  const helpdesk = new Helpdesk(root);
  helpdesk.start();
  setupPanel(helpdesk);
  setupCustomerComposer(helpdesk);
  if (document.activeElement === document.body) helpdesk.reply.focus();
}

main();
