// Sign in: paste an API key, or an email and password through Firebase (when configured).
import { useEffect, useState } from "preact/hooks";
import { firebaseSignIn, loadFirebaseConfig, refreshIdToken } from "../firebase";
import { notice, signIn } from "../session";
import { ErrorBox, Section } from "../ui";

export function SignIn() {
  const [key, setKey] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const text = notice.use();
  const [firebaseConfigured, setFirebaseConfigured] = useState(false);
  useEffect(() => void loadFirebaseConfig().then((c) => setFirebaseConfigured(c !== null)), []);
  return (
    <main class="signin">
      <h1>Reportbook</h1>
      {text && <p class="notice" role="alert">{text}</p>}
      <Section title="Sign in with an API key">
        <form onSubmit={async (e) => {
          e.preventDefault();
          setError((await signIn(key.trim())) ?? "");
        }}>
          <label for="api-key">API key</label>
          <input id="api-key" type="password" autoComplete="off" placeholder="rb_…" value={key} onInput={(e) => setKey(e.currentTarget.value)} required />
          <button type="submit">Sign in</button>
        </form>
      </Section>
      {firebaseConfigured && (
        <Section title="Sign in with email">
          <form onSubmit={async (e) => {
            e.preventDefault();
            const submitter = (e as SubmitEvent).submitter as HTMLButtonElement | null;
            const result = await firebaseSignIn(email, password, submitter?.value === "signup");
            setError(result.token ? ((await signIn(result.token, refreshIdToken)) ?? "") : (result.error ?? ""));
          }}>
            <label for="email">Email</label>
            <input id="email" type="email" autoComplete="username" value={email} onInput={(e) => setEmail(e.currentTarget.value)} required />
            <label for="password">Password</label>
            <input id="password" type="password" autoComplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
            <div class="row">
              <button type="submit" value="signin">Sign in</button>
              <button type="submit" value="signup" class="secondary">Create account</button>
            </div>
          </form>
        </Section>
      )}
      <ErrorBox message={error} />
    </main>
  );
}
