// The report request form, generated from the notebook's parameters (GET /v1/notebooks/{name}).
import { useEffect, useState } from "preact/hooks";
import { api, describeError, type FieldErrors, type Schemas } from "../api/client";
import { navigate } from "../router";
import { ErrorBox, Section, must, useLoad } from "../ui";

type Parameter = Schemas["ParameterOut"];
const TEXT_TYPES = new Set(["str", "date", "datetime"]);

function initial(p: Parameter): string {
  if (p.default === undefined || p.default === null) return "";
  if (typeof p.default === "string") return p.default;
  if (p.type === "bool") return p.default ? "true" : "false";
  return JSON.stringify(p.default);
}

function convert(p: Parameter, raw: string): unknown {
  if (raw === "" && (p.nullable || !p.required)) return p.nullable ? null : undefined;
  if (p.enum) return p.enum.find((v) => JSON.stringify(v) === raw || String(v) === raw) ?? raw;
  if (TEXT_TYPES.has(p.type)) return raw;
  if (p.type === "bool") return raw === "true";
  try {
    return JSON.parse(raw); // numbers, lists, objects: the server checks the type
  } catch {
    return raw;
  }
}

export function RequestForm(props: { productId: string; onCreated: () => void }) {
  const [notebooks] = useLoad(async () => must(await api.GET("/v1/notebooks")), []);
  const [name, setName] = useState("");
  const [spec, setSpec] = useState<Schemas["NotebookOut"] | null>(null);
  const [values, setValues] = useState<Record<string, string>>({});
  const [runAt, setRunAt] = useState("");
  const [every, setEvery] = useState("");
  const [priority, setPriority] = useState<Schemas["Priority"]>("normal");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [message, setMessage] = useState("");
  const available = (notebooks ?? []).filter((n) => n.available !== false);
  useEffect(() => {
    if (!name && available[0]) setName(available[0].name);
  }, [notebooks]);
  useEffect(() => {
    if (!name) return;
    let chosen = true; // until another notebook is chosen: its answer may arrive first
    void api.GET("/v1/notebooks/{name}", { params: { path: { name } } }).then(({ data }) => {
      if (!chosen) return;
      setSpec(data ?? null);
      setValues(Object.fromEntries((data?.parameters ?? []).map((p) => [p.name, initial(p)])));
      setErrors({});
    });
    return () => {
      chosen = false;
    };
  }, [name]);

  const submit = async (e: Event) => {
    e.preventDefault();
    const parameters: Record<string, unknown> = {};
    for (const p of spec?.parameters ?? []) {
      const value = convert(p, values[p.name] ?? "");
      if (value !== undefined) parameters[p.name] = value;
    }
    const body: Schemas["TaskCreate"] = {
      notebook: name, product_id: props.productId, parameters, priority,
      run_at: runAt ? new Date(runAt).toISOString() : null,
      recurrence: every ? { every } : null,
    } as Schemas["TaskCreate"];
    const result = await api.POST("/v1/tasks", { body });
    if (result.data) {
      setErrors({});
      setMessage("");
      props.onCreated();
      navigate(`/tasks/${result.data.id}`);
      return;
    }
    const described = describeError(result.error);
    setErrors(described.fields);
    setMessage(described.message);
  };

  const fieldError = (key: string) =>
    errors[key] ? <span class="field-error" id={`err-${key}`} role="alert">{errors[key]}</span> : null;
  return (
    <Section title="Request a report">
      <form onSubmit={submit} class="request" noValidate>
        <label>Report
          <select value={name} onChange={(e) => setName(e.currentTarget.value)} name="notebook">
            {available.map((n) => <option value={n.name} key={n.name}>{n.title || n.name}</option>)}
          </select>
        </label>
        {fieldError("notebook")}
        {spec?.description && <p class="help">{spec.description}</p>}
        {spec?.parameters.map((p) => {
          const key = `parameters.${p.name}`;
          const set = (v: string) => setValues({ ...values, [p.name]: v });
          const common = { id: `param-${p.name}`, name: p.name, "aria-describedby": `help-${p.name}`, "aria-invalid": errors[key] ? true : undefined };
          let input;
          if (p.enum) {
            input = (
              <select {...common} value={values[p.name]} onChange={(e) => set(e.currentTarget.value)}>
                {p.enum.map((v) => {
                  const text = typeof v === "string" ? v : JSON.stringify(v);
                  return <option value={text} key={text}>{text}</option>;
                })}
              </select>
            );
          } else if (p.type === "bool") {
            input = <input type="checkbox" {...common} checked={values[p.name] === "true"} onChange={(e) => set(e.currentTarget.checked ? "true" : "false")} />;
          } else if (p.type === "int" || p.type === "float") {
            input = <input type="text" inputMode="decimal" {...common} value={values[p.name]} onInput={(e) => set(e.currentTarget.value)} />;
          } else if (p.type === "date") {
            input = <input type="text" placeholder="YYYY-MM-DD" {...common} value={values[p.name]} onInput={(e) => set(e.currentTarget.value)} />;
          } else if (p.type === "str") {
            input = <input type="text" {...common} value={values[p.name]} onInput={(e) => set(e.currentTarget.value)} />;
          } else {
            input = <textarea rows={2} {...common} value={values[p.name]} onInput={(e) => set(e.currentTarget.value)} />;
          }
          return (
            <div class="field" key={p.name} data-param={p.name}>
              <label for={`param-${p.name}`}>{p.name} <small>{p.type}{p.required ? " (required)" : ""}</small></label>
              {input}
              <small class="help" id={`help-${p.name}`}>{p.description}</small>
              {fieldError(key)}
            </div>
          );
        })}
        <details open={Object.keys(errors).some((k) => k.startsWith("run_at") || k.startsWith("recurrence")) || undefined}>
          <summary>Schedule</summary>
          <div class="field">
            <label for="run_at">Run at</label>
            <input id="run_at" type="datetime-local" value={runAt} onInput={(e) => setRunAt(e.currentTarget.value)} />
            {fieldError("run_at")}
          </div>
          <div class="field">
            <label for="every">Repeat every</label>
            <input id="every" placeholder="7d, 12h, 2w" value={every} onInput={(e) => setEvery(e.currentTarget.value)} />
            {fieldError("recurrence.every") ?? fieldError("recurrence")}
          </div>
        </details>
        <div class="field">
          <label for="priority">Priority</label>
          <select id="priority" value={priority} onChange={(e) => setPriority(e.currentTarget.value as Schemas["Priority"])}>
            <option value="high">high</option><option value="normal">normal</option><option value="low">low</option>
          </select>
        </div>
        <ErrorBox message={message} />
        <button type="submit">Request report</button>
      </form>
    </Section>
  );
}
