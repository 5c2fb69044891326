import { useState } from "react";
import { useArtifactText } from "../../../api/runs";
import type { Artifact } from "../../../api/types";
import { Empty, ErrorState, Loading } from "../../ui/QueryState/QueryState";

/** A text artifact (the rendered prompt, the model's raw answer) shown verbatim. */
export function ArtifactText({
  artifact,
  emptyText,
  collapsedLines = 30,
}: {
  artifact: Artifact | undefined;
  emptyText: string;
  collapsedLines?: number;
}) {
  const query = useArtifactText(artifact?.id);
  const [full, setFull] = useState(false);
  if (!artifact) return <Empty>{emptyText}</Empty>;
  if (query.isPending) return <Loading />;
  if (query.isError) return <ErrorState error={query.error} />;
  const lines = query.data.split("\n");
  const long = lines.length > collapsedLines;
  const shown = long && !full ? lines.slice(0, collapsedLines).join("\n") + "\n…" : query.data;
  return (
    <div className="artifact-text">
      <pre>{shown}</pre>
      {long && (
        <button type="button" className="link-button" onClick={() => setFull((v) => !v)}>
          {full ? "Show less" : `Show all ${lines.length} lines`}
        </button>
      )}
    </div>
  );
}
