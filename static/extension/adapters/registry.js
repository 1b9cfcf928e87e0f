// Which adapter reads a page: the demo helpdesk on the configured backend, else the first
// configured generic site that matches the URL, else none (the extension stays out of the page).

(() => {
  const A = (globalThis.AssistAdapters ??= {});

  A.DEFAULT_BACKEND = "http://127.0.0.1:8000";

  /** {kind: "demo" | "generic", site} for `url`, or null. */
  A.chooseAdapter = (url, { backendUrl = A.DEFAULT_BACKEND, sites = [] } = {}) => {
    if (A.isDemoHelpdesk(url, backendUrl)) return { kind: "demo", site: A.DEMO_SITE };
    const site = A.siteFor(url, sites);
    return site ? { kind: "generic", site } : null;
  };
})();
