// Who is signed in: the bearer token (an API key or a Firebase ID token) in sessionStorage.
import { signal } from "./signal";
import { firebaseSignOut, refreshIdToken } from "./firebase";
import { api, setToken, startEvents, stopEvents, whenUnauthorized, type Me } from "./api/client";

const KEY = "reportbook.token";
export const me = signal<Me | null>(null);
export const notice = signal<string>("");
let refreshToken: (() => Promise<string | null>) | null = null;

export async function signIn(token: string, refresh?: () => Promise<string | null>): Promise<string | null> {
  setToken(token);
  const { data, error, response } = await api.GET("/v1/me");
  if (!data) {
    setToken(null);
    return (error as { detail?: string } | undefined)?.detail ?? `sign-in failed (${response.status})`;
  }
  sessionStorage.setItem(KEY, token);
  refreshToken = refresh ?? null;
  notice.set("");
  me.set(data);
  startEvents();
  return null;
}

export function signOut(message = ""): void {
  void firebaseSignOut();
  sessionStorage.removeItem(KEY);
  stopEvents();
  setToken(null);
  refreshToken = null;
  notice.set(message);
  me.set(null);
}

whenUnauthorized(() => {
  if (refreshToken) {
    const refresh = refreshToken;
    void refresh().then((t) => {
      if (t) void signIn(t, refresh);
      else signOut("Your session has ended.");
    });
    return;
  }
  signOut("You were signed out: your credentials are no longer valid (revoked or expired).");
});

export async function restore(): Promise<void> {
  const saved = sessionStorage.getItem(KEY);
  if (saved) await signIn(saved, saved.startsWith("rb_") ? undefined : refreshIdToken);
}

export const isAdmin = (): boolean => me.get()?.role === "admin";
export const mayWrite = (): boolean => me.get()?.role !== "restricted";
