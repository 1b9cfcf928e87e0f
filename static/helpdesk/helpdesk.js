// The demo helpdesk, agent side: polls the open conversation, renders it, sends replies.
//
// The browser extension's demo adapter reads what this renders (see helpdesk.html), so every
// message is one element carrying data-role and data-message-id (the stored client id), and
// its text is set with textContent only: message text is never parsed as HTML.

const POLL_MS = 1_500;

const byId = (id) => document.getElementById(id);

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

class Helpdesk {
  constructor(root) {
    this.root = root;
    this.conversationId = root.dataset.conversation;
    this.list = byId("hd-messages");
    this.reply = byId("hd-reply");
    this.status = byId("hd-reply-status");
    this.lastPick = null; // {key, text}: an inserted template, so the sent reply can name it
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
        this.lastPick = { key: detail.key, text: detail.text };
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
    const payload = { role: "agent", text, client_id: crypto.randomUUID() };
    // A reply that is exactly the inserted template is recorded as that template being sent.
    if (this.lastPick && this.lastPick.text.trim() === text.trim()) {
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

  /** Puts text at the reply box's cursor, replacing any selection; never sends. */
  insert(text, key) {
    const box = this.reply;
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? start;
    box.setRangeText(text, start, end, "end");
    box.dispatchEvent(new Event("input", { bubbles: true }));
    box.focus();
    if (key) this.lastPick = { key, text };
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
      helpdesk.insert(data.text, data.key);
    }
  });
  toggle.checked = localStorage.getItem(STORE) !== "0";
  toggle.addEventListener("change", () => {
    localStorage.setItem(STORE, toggle.checked ? "1" : "0");
    show(toggle.checked);
  });
  show(toggle.checked);
}

function main() {
  const root = byId("hd-conversation");
  if (!root) return;
  const helpdesk = new Helpdesk(root);
  helpdesk.start();
  setupPanel(helpdesk);
}

main();
