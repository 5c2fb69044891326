import { useState } from "react";

type Json = unknown;

/**
 * Collapsible JSON tree: objects and arrays open/close with a toggle; nodes deeper than
 * `expandDepth` start collapsed. Scalars are shown as JSON literals.
 */
export function JsonViewer({
  value,
  label,
  expandDepth = 1,
}: {
  value: Json;
  label?: string;
  expandDepth?: number;
}) {
  if (value === undefined) return <span className="muted">—</span>;
  return (
    <div className="json-viewer">
      <JsonNode name={label} value={value} depth={0} expandDepth={expandDepth} />
    </div>
  );
}

function isContainer(v: Json): v is Record<string, Json> | Json[] {
  return typeof v === "object" && v !== null;
}

function JsonNode({
  name,
  value,
  depth,
  expandDepth,
}: {
  name?: string;
  value: Json;
  depth: number;
  expandDepth: number;
}) {
  const [open, setOpen] = useState(depth < expandDepth);
  const keyLabel = name !== undefined ? <span className="json-key">{name}: </span> : null;

  if (!isContainer(value)) {
    return (
      <div className="json-line">
        {keyLabel}
        <JsonScalar value={value} />
      </div>
    );
  }
  const entries: [string, Json][] = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.entries(value);
  const [openBr, closeBr] = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
  const summary = Array.isArray(value)
    ? `${entries.length} item${entries.length === 1 ? "" : "s"}`
    : `${entries.length} key${entries.length === 1 ? "" : "s"}`;

  if (entries.length === 0) {
    return (
      <div className="json-line">
        {keyLabel}
        <span className="json-punct">{openBr + closeBr}</span>
      </div>
    );
  }
  return (
    <div className="json-node">
      <button
        type="button"
        className="json-toggle"
        aria-expanded={open}
        aria-label={`${open ? "Collapse" : "Expand"} ${name ?? "value"}`}
        onClick={() => setOpen((o) => !o)}
      >
        <span aria-hidden="true">{open ? "▾" : "▸"}</span> {keyLabel}
        <span className="json-punct">{openBr}</span>
        {!open && (
          <>
            <span className="json-summary"> {summary} </span>
            <span className="json-punct">{closeBr}</span>
          </>
        )}
      </button>
      {open && (
        <>
          <div className="json-children">
            {entries.map(([k, v]) => (
              <JsonNode key={k} name={k} value={v} depth={depth + 1} expandDepth={expandDepth} />
            ))}
          </div>
          <span className="json-punct">{closeBr}</span>
        </>
      )}
    </div>
  );
}

function JsonScalar({ value }: { value: Json }) {
  if (value === null) return <span className="json-null">null</span>;
  switch (typeof value) {
    case "string":
      return <span className="json-string">{JSON.stringify(value)}</span>;
    case "number":
      return <span className="json-number">{String(value)}</span>;
    case "boolean":
      return <span className="json-boolean">{String(value)}</span>;
    default:
      return <span>{String(value)}</span>;
  }
}
