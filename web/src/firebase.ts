// Firebase email/password sign-in (the Firebase JS SDK from npm, loaded only when used).
// Configured at build time by VITE_FIREBASE_PROJECT_ID (+ VITE_FIREBASE_API_KEY,
// VITE_FIREBASE_AUTH_DOMAIN, VITE_FIREBASE_AUTH_EMULATOR_HOST), else at run time by the API's
// /config.json (its FIREBASE_PROJECT_ID, FIREBASE_WEB_API_KEY, FIREBASE_AUTH_EMULATOR_HOST).
import type { Auth } from "firebase/auth";
import { BASE_URL } from "./api/client";

type FirebaseConfig = { projectId: string; apiKey: string; authDomain?: string | null; authEmulatorHost?: string | null };

const env = import.meta.env;
let config: FirebaseConfig | null = null;
let instance: Auth | null = null;

/** The Firebase settings, or null when this deployment has no Firebase sign-in. */
export async function loadFirebaseConfig(): Promise<FirebaseConfig | null> {
  if (env.VITE_FIREBASE_PROJECT_ID) {
    config = {
      projectId: env.VITE_FIREBASE_PROJECT_ID,
      apiKey: env.VITE_FIREBASE_API_KEY || "emulator-api-key",
      authDomain: env.VITE_FIREBASE_AUTH_DOMAIN,
      authEmulatorHost: env.VITE_FIREBASE_AUTH_EMULATOR_HOST,
    };
  } else {
    try {
      const response = await fetch(`${BASE_URL}/config.json`);
      config = response.ok ? ((await response.json()) as { firebase: FirebaseConfig | null }).firebase : null;
    } catch {
      config = null;
    }
  }
  return config;
}

async function auth() {
  const sdk = await import("firebase/auth");
  if (!instance && config) {
    const { initializeApp } = await import("firebase/app");
    const app = initializeApp({ apiKey: config.apiKey, authDomain: config.authDomain ?? undefined, projectId: config.projectId });
    instance = sdk.getAuth(app);
    if (config.authEmulatorHost) sdk.connectAuthEmulator(instance, `http://${config.authEmulatorHost}`, { disableWarnings: true });
  }
  return { sdk, instance: instance! };
}

/** A fresh ID token of the signed-in Firebase user (for a token that has expired). */
export async function refreshIdToken(): Promise<string | null> {
  if (!config) return null;
  const { instance: a } = await auth();
  await a.authStateReady();
  return a.currentUser ? a.currentUser.getIdToken(true) : null;
}

/** Sign in (or create the account) and return an ID token, or a readable error. */
export async function firebaseSignIn(email: string, password: string, create: boolean): Promise<{ token?: string; error?: string }> {
  const { sdk, instance: a } = await auth();
  try {
    const credential = create
      ? await sdk.createUserWithEmailAndPassword(a, email, password)
      : await sdk.signInWithEmailAndPassword(a, email, password);
    return { token: await credential.user.getIdToken() };
  } catch (error) {
    const code = (error as { code?: string }).code ?? String(error);
    return { error: code.replace(/^auth\//, "").replace(/-/g, " ") };
  }
}

export async function firebaseSignOut(): Promise<void> {
  if (instance) await (await import("firebase/auth")).signOut(instance);
}
