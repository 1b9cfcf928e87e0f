// The adapter for the project's own demo helpdesk (/demo/helpdesk/ on the backend): the generic
// reader with the selectors of assist/templates/assist/demo/helpdesk.html. Each message there
// carries the client id it is stored under, so the extension re-sends it under the same id and
// the backend stores it once.

(() => {
  const A = (globalThis.AssistAdapters ??= {});

  A.DEMO_SITE = Object.freeze({
    name: "Demo helpdesk",
    channel: "demo",
    conversationId: { selector: "#hd-conversation", attribute: "data-external-id" },
    customerName: ".hd-customer-name",
    messageList: "#hd-messages",
    message: ".hd-message",
    role: { customer: '[data-role="customer"]', agent: '[data-role="agent"]' },
    text: ".hd-text",
    messageId: { attribute: "data-message-id" },
    replyBox: "#hd-reply",
    // The panel's tab switch opens that chat: the inbox link for the external id.
    switchTo: { selector: '.hd-inbox-list a[data-external-id="{id}"]' },
  });

  /** The demo helpdesk's pages on `backendUrl` (the agent side only, not the customer's). */
  A.isDemoHelpdesk = (url, backendUrl) => {
    try {
      const page = new URL(url);
      const backend = new URL(backendUrl);
      return (
        page.origin === backend.origin &&
        page.pathname.startsWith("/demo/helpdesk/") &&
        !page.pathname.startsWith("/demo/helpdesk/customer/")
      );
    } catch {
      return false;
    }
  };
})();
