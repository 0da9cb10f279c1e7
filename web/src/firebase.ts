// Firebase email/password sign-in (Firebase JS SDK from npm, loaded only when configured).
// VITE_FIREBASE_API_KEY + VITE_FIREBASE_PROJECT_ID (+ VITE_FIREBASE_AUTH_DOMAIN) configure it;
// VITE_FIREBASE_AUTH_EMULATOR_HOST (host:port) points it at the Auth emulator.
import { signIn } from "./session";

const env = import.meta.env;
export const firebaseConfigured = Boolean(env.VITE_FIREBASE_PROJECT_ID);

export async function firebaseSignIn(email: string, password: string, create: boolean): Promise<string | null> {
  const { initializeApp, getApps } = await import("firebase/app");
  const auth = await import("firebase/auth");
  const app = getApps()[0] ?? initializeApp({
    apiKey: env.VITE_FIREBASE_API_KEY || "emulator-api-key",
    authDomain: env.VITE_FIREBASE_AUTH_DOMAIN,
    projectId: env.VITE_FIREBASE_PROJECT_ID,
  });
  const instance = auth.getAuth(app);
  if (env.VITE_FIREBASE_AUTH_EMULATOR_HOST && !instance.emulatorConfig) {
    auth.connectAuthEmulator(instance, `http://${env.VITE_FIREBASE_AUTH_EMULATOR_HOST}`, { disableWarnings: true });
  }
  try {
    const credential = create
      ? await auth.createUserWithEmailAndPassword(instance, email, password)
      : await auth.signInWithEmailAndPassword(instance, email, password);
    const token = await credential.user.getIdToken();
    return signIn(token, async () => (instance.currentUser ? instance.currentUser.getIdToken(true) : null));
  } catch (error) {
    const code = (error as { code?: string }).code ?? String(error);
    return code.replace(/^auth\//, "").replace(/-/g, " ");
  }
}
