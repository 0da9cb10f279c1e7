import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "./styles.css";
import { Audit, Keys, Queue, Users } from "./pages/admin";
import { Home } from "./pages/home";
import { MarkdownPdf } from "./pages/pdf";
import { Product } from "./pages/product";
import { SignIn } from "./pages/signin";
import { TaskPage } from "./pages/task";
import { Link, usePath } from "./router";
import { isAdmin, mayWrite, me, restore, signOut } from "./session";

function Page({ path }: { path: string }) {
  const [, section, id] = path.split("/");
  if (section === "products" && id) return <Product id={id} />;
  if (section === "tasks" && id) return <TaskPage id={id} />;
  if (section === "pdf" && mayWrite()) return <MarkdownPdf />;
  if (section === "admin" && isAdmin()) {
    if (id === "users") return <Users />;
    if (id === "keys") return <Keys />;
    if (id === "audit") return <Audit />;
    if (id === "queue") return <Queue />;
  }
  return <Home />;
}

function App() {
  const [ready, setReady] = useState(false);
  const who = me.use();
  const path = usePath();
  useEffect(() => void restore().finally(() => setReady(true)), []);
  if (!ready) return <p class="loading">Loading…</p>;
  if (!who) return <SignIn />;
  return (
    <>
      <header class="top">
        <Link href="/" class="brand">Reportbook</Link>
        <nav aria-label="main">
          <Link href="/">Products</Link>
          {mayWrite() && <Link href="/pdf">Markdown to PDF</Link>}
          {isAdmin() && (
            <>
              <Link href="/admin/users">Users</Link>
              <Link href="/admin/keys">API keys</Link>
              <Link href="/admin/audit">Audit</Link>
              <Link href="/admin/queue">Queue</Link>
            </>
          )}
        </nav>
        <span class="who" data-role={who.role}>{who.name} · {who.role}</span>
        <button type="button" class="secondary" onClick={() => signOut()}>Sign out</button>
      </header>
      <main id="main" data-ready="1"><Page path={path} /></main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
