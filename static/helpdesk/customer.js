// The demo helpdesk, customer side: a chat window that polls and posts through its signed link.
// Message text reaches the page through textContent only.

import { renderMessages } from "./helpdesk.js";

const POLL_MS = 1_500;
const byId = (id) => document.getElementById(id);

function main() {
  const root = byId("cu-chat");
  if (!root) return;
  const url = root.dataset.messagesUrl;
  const list = byId("cu-messages");
  const text = byId("cu-text");
  const status = byId("cu-status");
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;

  const show = (body) => renderMessages(list, body.messages);

  async function poll() {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      show(await response.json());
      if (status.dataset.kind === "offline") status.textContent = "";
    } catch {
      status.textContent = "Offline: retrying…";
      status.dataset.kind = "offline";
    }
  }

  async function send() {
    const value = text.value;
    if (!value.trim()) return;
    // Generated once per message, so a retried post is stored once.
    const form = new URLSearchParams({ text: value, client_id: crypto.randomUUID() });
    byId("cu-send").disabled = true;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "X-CSRFToken": csrf },
        body: form,
      });
      const body = await response.json();
      if (!response.ok) throw new Error(body.detail || `HTTP ${response.status}`);
      text.value = "";
      status.textContent = "";
      show(body);
    } catch (error) {
      status.textContent = `Not sent: ${error.message}`;
      status.dataset.kind = "error";
    } finally {
      byId("cu-send").disabled = false;
      text.focus();
    }
  }

  byId("cu-form").addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  poll();
  setInterval(poll, POLL_MS);
  text.focus();
}

main();
