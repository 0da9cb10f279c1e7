// Admin pages: users and roles with their grants, API keys, the audit log, the queue.
import { useState } from "preact/hooks";
import { api, describeError, type Schemas } from "../api/client";
import { Badge, ErrorBox, Section, must, useLoad, when } from "../ui";

type Role = Schemas["Role"];
const ROLES: Role[] = ["admin", "user", "restricted"];

function useResources() {
  return useLoad(async () => {
    const [folders, products] = await Promise.all([api.GET("/v1/folders"), api.GET("/v1/products")]);
    return { folders: must(folders), products: must(products) };
  }, []);
}

function GrantForm(props: { onSubmit: (grant: Schemas["GrantIn"]) => Promise<string>; label: string }) {
  const [resources] = useResources();
  const [choice, setChoice] = useState("");
  const [message, setMessage] = useState("");
  const options = [
    ...(resources?.folders ?? []).map((f) => ({ value: `folder:${f.id}`, text: `Folder: ${f.name}` })),
    ...(resources?.products ?? []).map((p) => ({ value: `product:${p.id}`, text: `Product: ${p.name}` })),
  ];
  return (
    <form class="row" onSubmit={async (e) => {
      e.preventDefault();
      const [type, resource_id] = (choice || options[0]?.value || ":").split(":");
      setMessage(await props.onSubmit({ type: type as Schemas["ResourceType"], resource_id }));
    }}>
      <label>{props.label}
        <select value={choice} onChange={(e) => setChoice(e.currentTarget.value)}>
          {options.map((o) => <option value={o.value} key={o.value}>{o.text}</option>)}
        </select>
      </label>
      <button type="submit">Grant</button>
      <span role="status">{message}</span>
    </form>
  );
}

function resourceName(resources: ReturnType<typeof useResources>[0], g: Schemas["GrantIn"]): string {
  const list = g.type === "folder" ? resources?.folders : resources?.products;
  return list?.find((r) => r.id === g.resource_id)?.name ?? g.resource_id;
}

function UserGrants({ uid }: { uid: string }) {
  const [grants, , reload] = useLoad(async () => must(await api.GET("/v1/users/{uid}/grants", { params: { path: { uid } } })), [uid]);
  const [resources] = useResources();
  return (
    <div>
      <ul class="list">
        {grants?.map((g) => (
          <li key={g.id}>{g.type} {resourceName(resources, g)}{" "}
            <button type="button" class="link" onClick={async () => {
              await api.DELETE("/v1/users/{uid}/grants/{grant_id}", { params: { path: { uid, grant_id: g.id } } });
              reload();
            }}>remove</button>
          </li>
        ))}
      </ul>
      <GrantForm label="Add grant" onSubmit={async (grant) => {
        const result = await api.POST("/v1/users/{uid}/grants", { params: { path: { uid } }, body: grant });
        reload();
        return result.data ? "Granted." : describeError(result.error).message;
      }} />
    </div>
  );
}

export function Users() {
  const [users, error, reload] = useLoad(async () => must(await api.GET("/v1/users")), []);
  const [open, setOpen] = useState("");
  return (
    <>
      <h1>Users and roles</h1>
      <ErrorBox message={error} />
      {users?.length === 0 && <p>No one has signed in with Firebase yet.</p>}
      <table>
        <thead><tr><th>Email</th><th>Role</th><th>Since</th><th>Grants</th></tr></thead>
        <tbody>
          {users?.map((u) => (
            <tr key={u.id}>
              <td>{u.email ?? u.id}</td>
              <td>
                <select aria-label={`role of ${u.email ?? u.id}`} value={u.role} onChange={async (e) => {
                  await api.PUT("/v1/users/{uid}/role", { params: { path: { uid: u.id } }, body: { role: e.currentTarget.value as Role } });
                  reload();
                }}>
                  {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
                </select>
              </td>
              <td>{when(u.created_at)}</td>
              <td>{open === u.id ? <UserGrants uid={u.id} /> : <button type="button" class="link" onClick={() => setOpen(u.id)}>show</button>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function Keys() {
  const [keys, error, reload] = useLoad(async () => must(await api.GET("/v1/api-keys")), []);
  const [resources] = useResources();
  const nameOf = (g: Schemas["GrantIn"]) => resourceName(resources, g);
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("user");
  const [secret, setSecret] = useState("");
  const [message, setMessage] = useState("");
  const [grants, setGrants] = useState<Schemas["GrantIn"][]>([]);
  return (
    <>
      <h1>API keys</h1>
      <ErrorBox message={error} />
      <Section title="New key">
        <form class="row" onSubmit={async (e) => {
          e.preventDefault();
          setSecret("");
          const result = await api.POST("/v1/api-keys", { body: { name, role, service: true, grants } });
          if (result.data) {
            setSecret(result.data.key);
            setName("");
            setGrants([]);
            setMessage("");
            reload();
          } else {
            const d = describeError(result.error);
            setMessage(Object.entries(d.fields).map(([k, v]) => `${k}: ${v}`).join("; ") || d.message);
          }
        }}>
          <label>Name <input value={name} onInput={(e) => setName(e.currentTarget.value)} required /></label>
          <label>Role
            <select value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
              {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
            </select>
          </label>
          <button type="submit">Create key</button>
        </form>
        <GrantForm label="Grant the new key" onSubmit={async (g) => {
          setGrants([...grants, g]);
          return `${grants.length + 1} grant(s) for the new key`;
        }} />
        <ErrorBox message={message} />
        {secret && (
          <p class="secret" role="status">
            The key (shown once, copy it now): <code data-secret>{secret}</code>
          </p>
        )}
      </Section>
      <table>
        <thead><tr><th>Name</th><th>Role</th><th>Prefix</th><th>Grants</th><th>Last used</th><th /></tr></thead>
        <tbody>
          {keys?.map((k) => (
            <tr key={k.id} data-key={k.name}>
              <td>{k.name}</td><td>{k.role}</td><td><code>{k.prefix}</code></td>
              <td>{k.grants === null ? "owner's" : k.grants.map((g) => `${g.type} ${nameOf(g)}`).join(", ")}</td>
              <td>{when(k.last_used_at)}</td>
              <td>{k.revoked_at ? `revoked ${when(k.revoked_at)}` : (
                <button type="button" onClick={async () => {
                  await api.DELETE("/v1/api-keys/{key_id}", { params: { path: { key_id: k.id } } });
                  reload();
                }}>Revoke {k.name}</button>
              )}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function Audit() {
  const [page, error] = useLoad(async () => must(await api.GET("/v1/audit", { params: { query: { limit: 100 } } })), []);
  return (
    <>
      <h1>Audit log</h1>
      <ErrorBox message={error} />
      <table>
        <thead><tr><th>When</th><th>Who</th><th>Action</th><th>Target</th></tr></thead>
        <tbody>
          {page?.items.map((a) => (
            <tr key={a.id}><td>{when(a.at)}</td><td>{a.actor.name ?? a.actor.id}</td><td>{a.action}</td><td>{Object.values(a.target).join(" ")}</td></tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function Queue() {
  const [data, error] = useLoad(async () => {
    const [queue, stats] = await Promise.all([api.GET("/v1/queue"), api.GET("/v1/admin/queues")]);
    return { queue: must(queue), stats: must(stats) };
  }, []);
  return (
    <>
      <h1>Queue</h1>
      <ErrorBox message={error} />
      <table>
        <thead><tr><th>Queue</th><th>Queued</th><th>Started</th><th>Failed</th><th>Workers</th></tr></thead>
        <tbody>{data?.stats.map((s) => <tr key={s.queue}><td>{s.queue}</td><td>{s.queued}</td><td>{s.started}</td><td>{s.failed}</td><td>{s.workers}</td></tr>)}</tbody>
      </table>
      <Section title="Waiting tasks">
        {data?.queue.items.length === 0 && <p>Nothing waiting.</p>}
        <ul class="list">
          {data?.queue.items.map((t) => <li key={t.id}><a href={`/tasks/${t.id}`}>{t.notebook}</a> <Badge status={t.status} /> {t.priority} · {when(t.run_at)}</li>)}
        </ul>
      </Section>
    </>
  );
}
