// The extension's settings, in chrome.storage.local (never in URLs or logs):
//   backendUrl  e.g. "http://127.0.0.1:8000" (no trailing slash)
//   token       the agent's API token (python manage.py agent_token USERNAME, or sign-in)
//   sites       generic adapter configurations (docs/extension.md)

export const DEFAULT_BACKEND = "http://127.0.0.1:8000";

export async function loadSettings() {
  const stored = await chrome.storage.local.get(["backendUrl", "token", "sites"]);
  return {
    backendUrl: normaliseBackend(stored.backendUrl) || DEFAULT_BACKEND,
    token: typeof stored.token === "string" ? stored.token : "",
    sites: Array.isArray(stored.sites) ? stored.sites : [],
  };
}

/** "https://assist.example.com/" -> "https://assist.example.com"; "" when not http(s). */
export function normaliseBackend(value) {
  try {
    const url = new URL(String(value ?? "").trim());
    if (!["http:", "https:"].includes(url.protocol)) return "";
    return url.origin;
  } catch {
    return "";
  }
}
