// The generic adapter: any helpdesk, described by CSS selectors in the options page (see
// docs/extension.md). A site entry looks like
//   {"name": "Acme desk", "matches": ["https://desk.acme.test/*"], "channel": "acme",
//    "conversationId": {"url": "/tickets/(\\d+)"}, "customerName": ".requester-name",
//    "messageList": ".thread", "message": ".thread-item",
//    "role": {"customer": ".from-requester", "agent": ".from-staff"},
//    "text": ".thread-body", "replyBox": "#reply textarea"}
// Messages without an id of their own ("messageId": {"attribute": ...}) get a stable hash of
// (conversation, position, role, text) as their client id.

(() => {
  const A = (globalThis.AssistAdapters ??= {});

  /** The first configured site whose URL patterns match `url`, or null. */
  A.siteFor = (url, sites) =>
    (Array.isArray(sites) ? sites : []).find(
      (site) => A.validateSite(site, null).length === 0 && site.matches.some((p) => A.urlMatches(p, url)),
    ) ?? null;

  /** Every origin the configured sites need as host permissions. */
  A.siteOrigins = (sites) => [
    ...new Set(
      (Array.isArray(sites) ? sites : []).flatMap((site) =>
        (site?.matches ?? []).map(A.patternOrigin).filter(Boolean),
      ),
    ),
  ];
})();
